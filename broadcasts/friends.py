"""``FriendsAudience``: every active friend of a tenant's channel (``broadcast send --all``).

Other queries (areas, categories, radius) belong to ``alerts/``; the composition root can chain them:
``FriendsAudience(users, fallback=alerts_audience)`` answers ``all_friends`` itself and hands anything else on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from bot.users import UserStore
from broadcasts.audience import AudienceQuery, AudienceSource, Recipient


class FriendsAudience:
    def __init__(self, users: UserStore, fallback: AudienceSource | None = None, *, with_language: bool = True) -> None:
        """``with_language=False`` skips reading the users' records (everyone gets the "ja" messages)."""
        self._users = users
        self._fallback = fallback
        self._with_language = with_language

    async def resolve(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        if not query.all_friends:
            if self._fallback is None:
                raise ValueError("FriendsAudience only answers all_friends queries (no fallback audience wired)")
            async for rcp in self._fallback.resolve(query):
                yield rcp
            return
        chunk: list[str] = []
        async for uid in self._users.active_ids(query.tenant):
            chunk.append(uid)
            if len(chunk) >= 500:
                for rcp in await self._recipients(query, chunk):
                    yield rcp
                chunk = []
        for rcp in await self._recipients(query, chunk):
            yield rcp

    async def _recipients(self, query: AudienceQuery, ids: list[str]) -> list[Recipient]:
        if not ids:
            return []
        if not self._with_language and not query.languages:
            return [Recipient(uid) for uid in ids]
        users = await self._users.get_many(query.tenant, ids)
        out = []
        for uid, user in zip(ids, users):
            if user is None or not user.active:
                continue
            if query.languages and user.language not in query.languages:
                continue
            out.append(Recipient(uid, user.language))
        return out
