"""``civicbot shelters import|list`` and ``civicbot disaster status|sync``, plus the demo's bundled shelters.

``add_parsers(sub)`` mounts the commands; ``run(args, deps)`` runs them against a ``DisasterDeps`` the composition
root built (only Redis and the Rich Menu API: no chat rooms are loaded).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from disaster import service
from disaster.service import DisasterDeps
from disaster.shelters import ShelterCsvError, parse_csv
from disaster.texts import ATTRIBUTION

DATA = Path(__file__).resolve().parent / "data"
BUNDLED = sorted(DATA.glob("*_shitei-kinkyu-hinanbasho.csv"))


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sh = sub.add_parser("shelters", help="指定緊急避難場所 (GSI CSV) import and listing")
    shs = sh.add_subparsers(dest="shelters_command", required=True)
    imp = shs.add_parser("import", help="import GSI 指定緊急避難場所 CSV files (UTF-8 or Shift_JIS)")
    imp.add_argument("--tenant", required=True)
    imp.add_argument("files", nargs="+", type=Path)
    ls = shs.add_parser("list", help="print the tenant's sites as JSON lines")
    ls.add_argument("--tenant", required=True)
    d = sub.add_parser("disaster", help="disaster mode and rich menus")
    ds = d.add_subparsers(dest="disaster_command", required=True)
    ds.add_parser("status", help="each tenant's mode (JSON)")
    ds.add_parser("sync", help="upload changed rich menus and apply the menu of the mode in force")


async def run(args: argparse.Namespace, deps: DisasterDeps, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    if getattr(args, "tenant", None) is not None and args.tenant not in deps.tenants:
        print(f"civicbot: unknown tenant {args.tenant!r} (known: {', '.join(sorted(deps.tenants))})", file=err)
        return 2
    if args.command == "shelters" and args.shelters_command == "import":
        return await import_files(deps, args.tenant, args.files, out, err)
    if args.command == "shelters":
        for s in (await service.shelter_index(deps, args.tenant)).shelters:
            print(json.dumps(s.to_dict(), ensure_ascii=False), file=out)
        print(ATTRIBUTION, file=err)
        return 0
    if args.disaster_command == "status":
        summary = await service.mode_summary(deps)
        for tenant, state in summary.items():
            print(
                json.dumps(
                    {
                        "tenant": tenant,
                        "mode": state.mode,
                        "hazards": list(state.hazards),
                        "since": state.since,
                        "by": state.by,
                        "reason": state.reason,
                        "applied": state.applied,
                    },
                    ensure_ascii=False,
                ),
                file=out,
            )
        return 0
    await service.sync(deps, list(deps.tenants))
    return 0


async def import_files(deps: DisasterDeps, tenant: str, files: Iterable[Path], out: TextIO, err: TextIO, who: str = "cli") -> int:
    """Exit status: 0 all rows imported, 1 some rows refused (the good ones are imported), 2 a file unreadable."""
    status = 0
    for path in files:
        try:
            result = parse_csv(path.read_bytes())
        except (OSError, ShelterCsvError) as exc:
            print(f"{path}: {exc}", file=err)
            status = 2
            continue
        for line, message in result.errors:
            print(f"{path}:{line}: {message}", file=err)
        n = await service.import_shelters(deps, tenant, result.shelters, who, path.name) if result.shelters else 0
        print(f"{path.name}: {n} sites imported, {len(result.errors)} rows refused", file=out)
        if result.errors:
            status = max(status, 1)
    print(ATTRIBUTION, file=out)
    return status


async def seed_demo(deps: DisasterDeps, tenants: Iterable[str]) -> None:
    """Demo tenants start with the bundled 岸和田市 / 吹田市 sites (a tenant that is one of them gets its own only)."""
    for tenant in tenants:
        if len(await service.shelter_index(deps, tenant)):
            continue
        jis5 = getattr(deps.tenants[tenant], "jis5", "")
        own = [p for p in BUNDLED if p.name.startswith(jis5)]
        for path in own or BUNDLED:
            result = parse_csv(path.read_bytes())
            await service.import_shelters(deps, tenant, result.shelters, "demo", path.name)
