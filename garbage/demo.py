"""``make demo`` hook (called by bot/demo.py): the sample garbage data of デモ市, once (staff edits survive)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.redis_client import RedisClient
from garbage.csvio import read_dir
from garbage.model import DEMO_DATA
from garbage.service import import_files
from garbage.store import RedisDatasetStore

DEMO_TENANT = "demo"


async def load_demo_garbage(client: RedisClient, tenants: Mapping[str, Any]) -> list[str]:
    tenant = tenants.get(DEMO_TENANT)
    store = RedisDatasetStore(client)
    if tenant is None or not getattr(tenant, "demo", False) or await store.revision(DEMO_TENANT):
        return []
    ds = await import_files(store, DEMO_TENANT, read_dir(DEMO_DATA))
    return [f"sample garbage data for {DEMO_TENANT}: {len(ds.items)} items, {len(ds.areas)} areas"]
