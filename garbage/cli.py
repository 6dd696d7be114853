"""``civicbot garbage import --tenant T DIR`` (and ``export``): the functions behind the operator commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from garbage.csvio import FILES, GarbageImportError, read_dir, to_files
from garbage.service import import_files
from garbage.store import DatasetStore


async def run_import(
    datasets: DatasetStore, tenant: str, directory: Path, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    if not directory.is_dir():
        print(f"civicbot garbage import: {directory} is not a directory", file=err)
        return 2
    try:
        ds = await import_files(datasets, tenant, read_dir(directory))
    except GarbageImportError as exc:
        print(f"civicbot garbage import: nothing imported, {len(exc.errors)} problem(s):", file=err)
        for e in exc.errors:
            print(f"  {e}", file=err)
        return 1
    print(
        f"imported into {tenant}: {len(ds.items)} items, {len(ds.categories)} categories, {len(ds.areas)} areas, "
        f"{len(ds.centers)} centers, {len(ds.exceptions)} calendar exceptions",
        file=out,
    )
    return 0


async def run_export(datasets: DatasetStore, tenant: str, directory: Path, err: TextIO = sys.stderr) -> int:
    ds = await datasets.get(tenant)
    if ds is None:
        print(f"civicbot garbage export: tenant {tenant} has no garbage data", file=err)
        return 1
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in to_files(ds).items():
        (directory / name).write_bytes(data)
    print(f"wrote {', '.join(FILES)} to {directory}", file=err)
    return 0
