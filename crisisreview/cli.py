"""``civicbot triage audit`` and ``civicbot triage export``: subcommands of ``triage``, wired by the composition root.

civicbot triage audit --tenant T [--table]     recall and alarm rates on the reviewed items (JSON by default)
civicbot triage export --tenant T -o FILE.tsv  reviewed items as training data, only with the tenant's consent
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import TextIO

from crisisreview.model import Assessor
from crisisreview.service import ConsentRequired, audit, audit_table, export_training, require_consent
from crisisreview.store import CrisisReviewStore


def add_parsers(sub: argparse._SubParsersAction) -> dict[str, argparse.ArgumentParser]:
    """Add ``audit`` and ``export`` to the subparsers of ``triage``; returns them so the caller sets ``func``."""
    a = sub.add_parser("audit", help="recall and alarm rates of the crisis detector on the supervisor-reviewed marks")
    a.add_argument("--tenant", required=True)
    a.add_argument("--table", action="store_true", help="a small table instead of JSON")
    e = sub.add_parser("export", help="reviewed marks as training data (label<TAB>language<TAB>text), with consent")
    e.add_argument("--tenant", required=True)
    e.add_argument("-o", "--output", required=True, help="the .tsv file to write")
    return {"audit": a, "export": e}


async def run(
    args: argparse.Namespace, store: CrisisReviewStore, assessor: Assessor, *, consent: bool, out: TextIO, err: TextIO
) -> int:
    items = await store.reviewed(args.tenant)
    if args.triage_command == "audit":
        report = {"tenant": args.tenant, **audit(items, assessor)}
        print(audit_table(report) if args.table else json.dumps(report, ensure_ascii=False, indent=2), file=out)
        return 0
    try:
        require_consent(consent)
    except ConsentRequired as exc:
        print(f"civicbot triage export: refused for tenant {args.tenant}: {exc}", file=err)
        return 3
    target = Path(args.output)
    try:
        # written beside the target and renamed, so a failure never leaves a half file
        fd, tmp = tempfile.mkstemp(dir=target.resolve().parent, suffix=".part")
    except OSError as exc:
        print(f"civicbot triage export: cannot write {target}: {exc.strerror}", file=err)
        return 2
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        n = export_training(items, fh, consent=consent)
    os.replace(tmp, target)
    print(f"{n} reviewed items exported to {target}", file=err)
    return 0
