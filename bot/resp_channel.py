"""A lean Redis command channel for the webhook's hot path: one connection, hiredis packing and parsing.

redis-py's asyncio client costs tens of µs of Python per command (pool checkout, packing, response futures). The
webhook only ever sends batches of EVALSHA (the atomic dedup+enqueue script), so a dedicated pipelined connection
is enough: batches are serialized on one socket, replies are read in order. Any I/O failure closes the connection
and raises ``ConnectionError`` (→ the webhook answers 503 and LINE redelivers); the next batch reconnects.
"""

from __future__ import annotations

import asyncio
from urllib.parse import unquote, urlparse

import hiredis


class RespChannel:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", ""):
            raise ValueError(f"RespChannel supports redis:// URLs only, got {parsed.scheme}://")
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 6379
        self._username = unquote(parsed.username) if parsed.username else None
        self._password = unquote(parsed.password) if parsed.password else None
        self._db = int((parsed.path or "/0").lstrip("/") or 0)
        self._timeout = timeout
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._parser = hiredis.Reader()

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.wait_for(asyncio.open_connection(self._host, self._port), self._timeout)
        self._parser = hiredis.Reader()
        setup: list[tuple] = []
        if self._password is not None:
            setup.append(("AUTH", self._username, self._password) if self._username else ("AUTH", self._password))
        if self._db:
            setup.append(("SELECT", self._db))
        if setup:
            for reply in await self._roundtrip(setup):
                if isinstance(reply, hiredis.ReplyError):
                    raise ConnectionError(f"redis refused connection setup: {reply}")

    async def _roundtrip(self, commands: list[tuple]) -> list:
        assert self._writer is not None and self._reader is not None
        self._writer.write(b"".join(hiredis.pack_command(tuple(c)) for c in commands))
        await self._writer.drain()
        replies: list = []
        while len(replies) < len(commands):
            reply = self._parser.gets()
            if reply is False:
                data = await self._reader.read(65536)
                if not data:
                    raise ConnectionError("redis closed the connection")
                self._parser.feed(data)
                continue
            replies.append(reply)
        return replies

    async def call_many(self, commands: list[tuple]) -> list:
        """Send the commands in one write and return their replies in order (errors as ``hiredis.ReplyError``)."""
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout):  # one timer per batch, not per read
                    if self._writer is None:
                        await self._connect()
                    return await self._roundtrip(commands)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, hiredis.ProtocolError) as exc:
                await self._close()
                raise ConnectionError(f"redis unavailable: {exc!r}") from exc
            except asyncio.CancelledError:
                await self._close()  # replies of a half-read batch would confuse the next one
                raise

    async def _close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except (OSError, ConnectionError):
                pass

    async def aclose(self) -> None:
        async with self._lock:
            await self._close()
