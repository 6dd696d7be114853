"""`civicbot triage audit` / `triage export` as an operator runs them: a real process on a seeded Redis store, the
detector the product ships, the tenants file deciding consent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crisisreview import RedisCrisisReviewStore
from crisisreview.model import ReviewItem

pytestmark = pytest.mark.slow  # each run starts a process that loads the detector (Sudachi): seconds on a busy machine
REPO = Path(__file__).resolve().parents[3]
CLI = "app.cli"
# unambiguous on purpose, so the figures hold for any sane detector: two crises, two everyday questions
ROWS = [
    ("m1", "死にたい", "missed", "suicide", "none", "suicide"),  # the bot (at the time) missed it
    ("m2", "夫に毎日殴られています", "missed", "dv", "crisis", "dv"),
    ("m3", "粗大ごみの出し方を教えてください", "not_crisis", None, "crisis", "none"),  # a false alarm at the time
    ("m4", "図書館は何時まで開いていますか", "not_crisis", None, "none", "none"),
]


@pytest.fixture
async def seeded(redis):
    store = RedisCrisisReviewStore(redis)
    for n, (mid, text, verdict, category, bot_level, label) in enumerate(ROWS):
        item = ReviewItem(
            id=mid, tenant="demo", conversation_ref="c-1", message_ref=mid, text=text, verdict=verdict, category=category,
            bot_level=bot_level, bot_category="suicide" if bot_level != "none" else None, language="ja", marked_by="alice",
            marked_at=1000.0 + n,
        )
        await store.mark(item, 86400)
        await store.decide("demo", mid, "confirmed", label, "sam", 2000.0 + n)
    await store.mark(ReviewItem("p", "demo", "c-1", "p", "まだ", "missed", "dv", "none", None, "ja", "alice", 3000.0), 86400)
    return store


def _run(redis_url: str, tmp_path: Path, *args: str, tenants: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, CIVICBOT_DEMO="1", REDIS_URL=redis_url, CIVICBOT_DATA_DIR=str(tmp_path))
    if tenants is not None:
        env["CIVICBOT_TENANTS"] = str(tenants)
    return subprocess.run([sys.executable, "-m", CLI, "triage", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)


async def test_audit_prints_the_figures(seeded, redis_url, tmp_path):
    out = _run(redis_url, tmp_path, "audit", "--tenant", "demo")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["reviewed"] == 4
    assert report["current"]["overall"] == {
        "crisis_items": 2, "recall_crisis": 1.0, "recall_crisis_or_concern": 1.0, "none_items": 2, "alarm_rate": 0.0, "crisis_alarm_rate": 0.0,
    }
    assert report["at_the_time"]["overall"] == {
        "crisis_items": 2, "recall_crisis": 0.5, "recall_crisis_or_concern": 0.5, "none_items": 2, "alarm_rate": 0.5, "crisis_alarm_rate": 0.5,
    }
    assert report["at_the_time"]["by_category"]["suicide"]["recall_crisis"] == 0.0
    assert report["at_the_time"]["by_category"]["dv"]["recall_crisis"] == 1.0
    assert set(report["current"]["by_language"]) == {"ja"}
    assert "死にたい" not in out.stderr and "殴られて" not in out.stderr


async def test_export_refused_without_consent_and_written_with_it(seeded, redis_url, tmp_path):
    target = tmp_path / "train.tsv"
    refused = _run(redis_url, tmp_path, "export", "--tenant", "demo", "-o", str(target))
    assert refused.returncode == 3 and not target.exists()
    assert "refused" in refused.stderr and "crisis_training_consent" in refused.stderr
    demo_file = (REPO / "config" / "tenants.demo.yaml").read_text(encoding="utf-8")
    consenting = tmp_path / "tenants.yaml"
    consenting.write_text(demo_file.replace("    demo: true\n", "    demo: true\n    crisis_training_consent: true\n", 1), encoding="utf-8")
    done = _run(redis_url, tmp_path, "export", "--tenant", "demo", "-o", str(target), tenants=consenting)
    assert done.returncode == 0, done.stderr
    assert target.read_text(encoding="utf-8").splitlines() == [
        "suicide\tja\t死にたい", "dv\tja\t夫に毎日殴られています", "none\tja\t粗大ごみの出し方を教えてください", "none\tja\t図書館は何時まで開いていますか",
    ]
