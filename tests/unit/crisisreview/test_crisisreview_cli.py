"""``triage audit`` / ``triage export`` on a seeded store (the argument parsing and output the operator sees)."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from crisisreview import MemoryCrisisReviewStore, ReviewDeps, cli, decide, mark_message
from crisisreview.testing import TableAssessor
from tests.helpers import ManualClock


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civicbot triage")
    cli.add_parsers(parser.add_subparsers(dest="triage_command", required=True))
    return parser


@pytest.fixture
async def seeded():
    """Four decided marks in tenant demo: two missed crises (ja suicide, vi dv), one false alarm, one rejected."""
    clock = ManualClock()
    then = TableAssessor({"Tôi muốn chết": ("none", None, "vi"), "死ぬほど眠い": ("crisis", "suicide", "ja")})
    deps = ReviewDeps(store=MemoryCrisisReviewStore(clock=clock), assessor=then, clock=clock)
    rows = [
        ("もう消えたい", "missed", "suicide", "confirmed"),
        ("Tôi muốn chết", "missed", "dv", "confirmed"),  # corrected to suicide below
        ("死ぬほど眠い", "not_crisis", None, "confirmed"),
        ("ごみの日", "missed", "danger", "rejected"),
    ]
    for n, (text, verdict, category, decision) in enumerate(rows):
        clock.advance(1)
        item = await mark_message(
            deps, tenant="demo", conversation_id="c", message_id=f"m{n}", text=text, verdict=verdict, category=category,
            marked_by="alice", retention_days=30,
        )
        await decide(deps, "demo", item.id, decision, "suicide" if n == 1 else None, "sam")
    now = TableAssessor({"もう消えたい": ("crisis", "suicide", "ja"), "Tôi muốn chết": ("concern", "suicide", "vi")})
    return deps.store, now


async def test_audit_prints_json_figures(seeded):
    store, now = seeded
    out, err = io.StringIO(), io.StringIO()
    assert await cli.run(_parser().parse_args(["audit", "--tenant", "demo"]), store, now, consent=False, out=out, err=err) == 0
    report = json.loads(out.getvalue())
    assert report["tenant"] == "demo" and report["reviewed"] == 4
    assert report["current"]["overall"] == {
        "crisis_items": 2, "recall_crisis": 0.5, "recall_crisis_or_concern": 1.0, "none_items": 2, "alarm_rate": 0.0, "crisis_alarm_rate": 0.0,
    }
    assert report["at_the_time"]["overall"]["recall_crisis_or_concern"] == 0.0
    assert report["at_the_time"]["overall"]["crisis_alarm_rate"] == 0.5
    assert report["current"]["by_language"]["vi"]["recall_crisis_or_concern"] == 1.0
    assert report["current"]["by_category"]["suicide"]["crisis_items"] == 2
    table = io.StringIO()
    await cli.run(_parser().parse_args(["audit", "--tenant", "demo", "--table"]), store, now, consent=False, out=table, err=err)
    assert ["current", "language:vi", "1", "0.0%", "100.0%", "0", "-", "-"] in [line.split() for line in table.getvalue().splitlines()]


async def test_export_is_refused_without_consent(seeded, tmp_path):
    store, now = seeded
    target = tmp_path / "train.tsv"
    err = io.StringIO()
    code = await cli.run(_parser().parse_args(["export", "--tenant", "demo", "-o", str(target)]), store, now, consent=False, out=io.StringIO(), err=err)
    assert code == 3 and not target.exists() and list(tmp_path.iterdir()) == []
    assert "refused" in err.getvalue() and "crisis_training_consent" in err.getvalue()


async def test_export_with_consent(seeded, tmp_path):
    store, now = seeded
    target = tmp_path / "train.tsv"
    err = io.StringIO()
    code = await cli.run(_parser().parse_args(["export", "--tenant", "demo", "-o", str(target)]), store, now, consent=True, out=io.StringIO(), err=err)
    assert code == 0 and "4 reviewed items" in err.getvalue()
    assert target.read_text(encoding="utf-8").splitlines() == [
        "suicide\tund\tもう消えたい", "suicide\tvi\tTôi muốn chết", "none\tja\t死ぬほど眠い", "none\tund\tごみの日",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["train.tsv"]
    missing_dir = tmp_path / "no" / "such.tsv"
    args = _parser().parse_args(["export", "--tenant", "demo", "-o", str(missing_dir)])
    assert await cli.run(args, store, now, consent=True, out=io.StringIO(), err=err) == 2
