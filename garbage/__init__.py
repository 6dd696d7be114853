"""Garbage room (ごみ): item search 「電池は何ごみ？」, 「明日は何ごみ？」 and collection-day reminders, from a
tenant's data in the 5374.jp layout (``data/demo/README.md``).

The door: ``GarbageRoom`` (chat), ``GarbageDeps`` and the service functions (``import_files``, ``tick``,
``remind``), ``GarbageAudience`` (reminder recipients for the delivery engine), the ports with their memory and
Redis implementations (``redis_ports``), and the staff editor ``garbage.admin.create_app`` (imported separately:
it needs ``staff/``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.redis_client import RedisClient
from garbage.chat import GarbageRoom
from garbage.csvio import GarbageImportError, RowError, parse_files, read_dir, to_files
from garbage.model import DEMO_DATA, Area, CalendarException, Category, Center, Dataset, Item
from garbage.search import ItemIndex, load_lexicon
from garbage.service import GarbageAudience, GarbageDeps, PlaceRef, ReminderRun, import_files, remind, tick
from garbage.store import (
    MemoryDatasetStore,
    MemoryReminderStore,
    MemoryRunLedger,
    MemoryUnknownLog,
    QuietHours,
    RedisDatasetStore,
    RedisReminderStore,
    RedisRunLedger,
    RedisUnknownLog,
    Reminder,
)


@dataclass(frozen=True)
class RedisPorts:
    datasets: RedisDatasetStore
    unknown: RedisUnknownLog
    reminders: RedisReminderStore
    ledger: RedisRunLedger


def redis_ports(client: RedisClient, active_key: Callable[[str], str] | None = None) -> RedisPorts:
    return RedisPorts(
        RedisDatasetStore(client), RedisUnknownLog(client), RedisReminderStore(client, active_key), RedisRunLedger(client)
    )


__all__ = [
    "GarbageRoom",
    "GarbageImportError",
    "RowError",
    "parse_files",
    "read_dir",
    "to_files",
    "Area",
    "CalendarException",
    "Category",
    "Center",
    "Dataset",
    "Item",
    "ItemIndex",
    "load_lexicon",
    "GarbageAudience",
    "GarbageDeps",
    "PlaceRef",
    "ReminderRun",
    "import_files",
    "remind",
    "tick",
    "MemoryDatasetStore",
    "MemoryReminderStore",
    "MemoryRunLedger",
    "MemoryUnknownLog",
    "QuietHours",
    "RedisDatasetStore",
    "RedisReminderStore",
    "RedisRunLedger",
    "RedisUnknownLog",
    "Reminder",
    "DEMO_DATA",
    "RedisPorts",
    "redis_ports",
]
