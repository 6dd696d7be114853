"""The one way civicbot processes open Redis: asyncio client, decoded strings, hiredis command packing.

redis-py's asyncio connection packs commands in pure Python (~30 µs each); hiredis (already installed for parsing)
packs them in C. Measured on the webhook path: server CPU per event 160 → see bench/webhook.py.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.connection import Connection

try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is a pinned dependency
    hiredis = None


class HiredisPackingConnection(Connection):
    def pack_command(self, *args):  # type: ignore[override]
        if hiredis is None:
            return super().pack_command(*args)
        if isinstance(args[0], str) and " " in args[0]:  # e.g. "CLIENT SETNAME": split like redis-py does
            args = tuple(args[0].split()) + args[1:]
        try:
            return [hiredis.pack_command(tuple(bytes(a) if isinstance(a, (bytearray, memoryview)) else a for a in args))]
        except TypeError:
            return super().pack_command(*args)


def connect(url: str) -> aioredis.Redis:
    """A client for ``url``; connections are made lazily, so this is safe to call in an app factory."""
    pool = aioredis.ConnectionPool.from_url(url, decode_responses=True, health_check_interval=30)
    if pool.connection_class is Connection:
        pool.connection_class = HiredisPackingConnection
    return aioredis.Redis(connection_pool=pool)
