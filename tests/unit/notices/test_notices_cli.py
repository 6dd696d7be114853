"""`civicbot notices parse FILE.eml...`: one JSON line per file with exactly the keys of the issue."""

from __future__ import annotations

import io
import json

from alerts.notices.cli import main, parse_files
from tests.unit.notices.conftest import MAIL_DIR

KEYS = ["file", "kind", "occurred_at", "place_text", "municipality_code", "town", "lat", "lng", "precision", "summary"]


def test_samples_print_one_json_line_each(tmp_path):
    bad = tmp_path / "bad.eml"
    bad.write_bytes(b"Subject: hello\r\n\r\nnothing to see")
    paths = [*sorted(MAIL_DIR.glob("*.eml")), bad]
    out = io.StringIO()
    rows = list(parse_files(paths, out=out))
    printed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert printed == rows and len(rows) == 6
    assert all(list(r) == KEYS for r in rows)
    first = rows[0]
    assert first["kind"] == "声かけ" and first["occurred_at"] == "2026-11-12T16:10:00+09:00"
    assert (first["municipality_code"], first["town"], first["precision"]) == ("27127", "梅田一丁目", "town")
    assert first["summary"] == "声かけ｜11月12日(木) 午後4時10分ごろ｜大阪市北区梅田一丁目付近"
    assert [r["town"] for r in rows[:5]] == ["梅田一丁目", "南瓦町", "若江北町三丁目", "上野東二丁目", "蒲生一丁目"]
    assert rows[5]["kind"] is None and rows[5]["precision"] == "none" and rows[5]["summary"].startswith("unparseable: ")


def test_exit_status(capsys, tmp_path):
    assert main([str(p) for p in sorted(MAIL_DIR.glob("*.eml"))]) == 0
    assert main([str(tmp_path / "missing.eml")]) == 1
    assert '"summary": "unreadable: ' in capsys.readouterr().out
