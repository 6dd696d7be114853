"""The one way civicbot processes open Redis: asyncio client, decoded strings, hiredis command packing.

redis-py's asyncio connection packs commands in pure Python (~30 µs each); hiredis (already installed for parsing)
packs them in C. Measured on the webhook path: server CPU per event 160 → see bench/webhook.py.
"""

from __future__ import annotations

from typing import Any

import hiredis  # pinned: redis[hiredis]
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection


class HiredisPackingConnection(Connection):
    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str) and " " in args[0]:  # e.g. "CLIENT SETNAME": split like redis-py does
            args = tuple(args[0].split()) + args[1:]
        try:
            packed: Any = tuple(bytes(a) if isinstance(a, (bytearray, memoryview)) else a for a in args)
            return [hiredis.pack_command(packed)]
        except TypeError:
            return super().pack_command(*args)


def connect(url: str) -> aioredis.Redis:
    """A client for ``url``; connections are made lazily, so this is safe to call in an app factory."""
    pool = aioredis.ConnectionPool.from_url(url, decode_responses=True, health_check_interval=30)
    if pool.connection_class is Connection:
        pool.connection_class = HiredisPackingConnection
    return aioredis.Redis(connection_pool=pool)
