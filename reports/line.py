"""LINE's message content API (``GET /v2/bot/message/{id}/content`` on api-data.line.me): the photo a resident sent.

Read with a streaming client rather than line-bot-sdk's blob API, which loads the whole body before we could see its
size: a hostile "photo" of hundreds of megabytes is cut off at the limit instead of filling the worker's memory.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from reports.service import ContentTooLarge, ContentUnavailable

LINE_DATA_API = "https://api-data.line.me"


class LineContentSource:
    def __init__(
        self, tokens: Mapping[str, str], session: aiohttp.ClientSession, base_url: str | None = None, timeout_s: float = 20
    ) -> None:
        self._tokens = tokens
        self._session = session
        self._base = (base_url or LINE_DATA_API).rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def fetch(self, tenant: str, message_id: str, max_bytes: int) -> bytes:
        if not message_id.isdigit() and not message_id.isalnum():
            raise ContentUnavailable("bad message id")
        url = f"{self._base}/v2/bot/message/{message_id}/content"
        headers = {"Authorization": f"Bearer {self._tokens[tenant]}"}
        try:
            async with self._session.get(url, headers=headers, timeout=self._timeout) as resp:
                if resp.status != 200:
                    raise ContentUnavailable(f"LINE answered {resp.status}")
                if resp.content_length is not None and resp.content_length > max_bytes:
                    raise ContentTooLarge(f"{resp.content_length} bytes")
                data = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > max_bytes:
                        raise ContentTooLarge(f"more than {max_bytes} bytes")
                return bytes(data)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ContentUnavailable(type(exc).__name__) from None
