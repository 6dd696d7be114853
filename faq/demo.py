"""``make demo`` hook (called by app/demo.py): load the sample FAQ into the demo tenant.

Only tenants marked ``demo: true`` are touched, and only ``demo`` gets the sample (it describes 「デモ市」); re-running
is harmless because the import updates by ID and leaves unchanged entries alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from faq.io import import_file
from faq.store import RedisFaqStore

SAMPLE = Path(__file__).parent / "sample" / "demo_faq.csv"
DEMO_TENANT = "demo"


async def load_demo_faq(client: aioredis.Redis, tenants: Mapping[str, Any]) -> list[str]:
    tenant = tenants.get(DEMO_TENANT)
    if tenant is None or not getattr(tenant, "demo", False):
        return []
    report = await import_file(RedisFaqStore(client), DEMO_TENANT, SAMPLE, who="demo")
    return [f"sample FAQ for {DEMO_TENANT}: {report.created} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.errors)} errors"]
