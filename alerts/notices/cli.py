"""``civicbot notices parse FILE.eml...``: one JSON line per notice, for staff checking a mail by hand.

Keys (exactly): file, kind, occurred_at, place_text, municipality_code, town, lat, lng, precision, summary.
A file that cannot be read as a notice still gives a line (kind null, precision "none", summary = the reason),
so a batch never stops half way.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from alerts.geo import Gazetteer
from alerts.notices.delivery import format_when, place_label
from alerts.notices.geocode import geocode
from alerts.notices.model import JST
from alerts.notices.parse import NoticeError, parse_mail
from alerts.notices.service import build_incident


def parse_file(path: str | Path, gazetteer: Gazetteer | None = None) -> dict:
    g = gazetteer or Gazetteer.load()
    p = Path(path)
    out: dict = {"file": str(path), "kind": None, "occurred_at": None, "place_text": None, "municipality_code": None,
                 "town": None, "lat": None, "lng": None, "precision": "none", "summary": ""}
    try:
        data = p.read_bytes()
        received = dt.datetime.fromtimestamp(p.stat().st_mtime, JST)
        notice = parse_mail(data, received_at=received)
    except NoticeError as exc:
        out["summary"] = f"unparseable: {exc.reason}"
        return out
    except OSError as exc:
        out["summary"] = f"unreadable: {exc.strerror or exc}"
        return out
    placement = geocode(notice.place_text, g, hint=notice.municipality_hint)
    inc = build_incident("cli", notice, placement, source="cli", source_name="大阪府警察", received_at=received.timestamp())
    out.update(
        kind=notice.kind,
        occurred_at=inc.occurred_at,
        place_text=notice.place_text,
        municipality_code=placement.municipality_code,
        town=placement.town or None,
        lat=placement.lat,
        lng=placement.lng,
        precision=placement.precision,
        summary=f"{notice.kind}｜{format_when(inc.occurred_at, inc.time_known, 'ja')}｜{place_label(inc, 'ja')}",
    )
    return out


def parse_files(
    paths: Iterable[str | Path], *, out: TextIO | None = None, quiet: bool = False, gazetteer: Gazetteer | None = None
) -> Iterator[dict]:
    """Yield one dict per file and print it as a JSON line to ``out`` (default: stdout; ``quiet`` = don't print)."""
    g = gazetteer or Gazetteer.load()
    for path in paths:
        row = parse_file(path, g)
        if not quiet:
            print(json.dumps(row, ensure_ascii=False), file=out or sys.stdout, flush=True)
        yield row


def main(argv: list[str] | None = None) -> int:
    """Exit status 0 when every file parsed and placed to a town, 1 otherwise (for scripts)."""
    args = sys.argv[1:] if argv is None else argv
    rows = list(parse_files(args))
    return 0 if rows and all(r["precision"] == "town" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
