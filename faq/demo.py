"""``make demo`` hook (called by app/demo.py): load the sample FAQ (with its English translations) into the demo
tenant.

The English translations live beside the sample (``demo_faq_en.csv``: ID + 質問(en) + 回答(en)) rather than in it:
the crisis model's training digest covers ``demo_faq.csv`` (its questions are label-none examples), so the sample
itself stays as it is.

Only tenants marked ``demo: true`` are touched, and only ``demo`` gets the sample (it describes 「デモ市」); re-running
is harmless because the import updates by ID and leaves unchanged entries alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.redis_client import RedisClient
from faq.io import ParsedFile, import_entries, parse_file, parse_translations
from faq.store import FaqStore, RedisFaqStore

SAMPLE = Path(__file__).parent / "sample" / "demo_faq.csv"
SAMPLE_TRANSLATIONS = Path(__file__).parent / "sample" / "demo_faq_en.csv"
DEMO_TENANT = "demo"


def sample_entries(tenant: str = DEMO_TENANT) -> ParsedFile:
    """The sample FAQ with its translations attached."""
    parsed = parse_file(SAMPLE, tenant)
    translations, errors = parse_translations(SAMPLE_TRANSLATIONS.read_bytes())
    for entry in parsed.entries:
        entry.translations = translations.get(entry.id, {})
    parsed.errors.extend(errors)
    return parsed


async def load_sample(store: FaqStore, tenant: str = DEMO_TENANT, who: str = "demo") -> list[str]:
    report = await import_entries(store, tenant, sample_entries(tenant), who=who)
    return [f"sample FAQ for {tenant}: {report.created} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.errors)} errors"]


async def load_demo_faq(client: RedisClient, tenants: Mapping[str, Any]) -> list[str]:
    tenant = tenants.get(DEMO_TENANT)
    if tenant is None or not getattr(tenant, "demo", False):
        return []
    return await load_sample(RedisFaqStore(client))
