"""Demo data for `make demo` only: staff accounts and the sample FAQ of the demo tenants."""

from __future__ import annotations

import asyncio
import logging

import staff
import staff.cli
from bot.config import Settings, load_tenants
from bot.redis_client import connect as connect_redis
from faq.demo import load_demo_faq

log = logging.getLogger("civicapp.demo")

DEMO_PASSWORD = "demo-password-2026"  # demo mode only; printed by `make demo`


async def _prepare(redis_url: str) -> list[str]:
    settings = Settings(demo=True)
    tenants = load_tenants(settings.tenants_path(), demo=True)
    demo_ids = [tid for tid, t in tenants.items() if t.demo]
    client = connect_redis(redis_url)
    try:
        notes = []
        created = await staff.cli.seed_demo_accounts(staff.RedisStaffStore(client), demo_ids, DEMO_PASSWORD)
        if created:
            notes.append(f"staff accounts created: {', '.join(created)}")
        notes.extend(await load_demo_faq(client, tenants))
        return notes
    finally:
        await client.aclose()


def prepare_demo(env: dict[str, str]) -> None:
    notes = asyncio.run(_prepare(env["REDIS_URL"]))
    for note in notes:
        print(f" demo: {note}", flush=True)
    print(f" demo: staff login — tenant demo, user counsellor1 / supervisor / admin, password {DEMO_PASSWORD}", flush=True)
