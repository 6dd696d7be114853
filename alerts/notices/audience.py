"""Who hears about a police notice — an ``AudienceSource`` adapter over the subscriptions room.

A police job's query carries both a radius (``center``/``radius_m``) and the municipality (``area_codes``).
``SubscriptionAudience`` unions the two, and its area index holds *every* place in the unit, located or not, so
a resident whose shared location is 3 km away in the same ward would hear about a 声かけ that is not near them.
The issue asks for: located places within the radius, plus people registered for the whole municipality
(a place chosen as a municipality/ward, without a point). This adapter narrows exactly that, reusing the inner
source for everything else (active users, quiet hours, languages):

* radius part: ``inner.resolve(query without area_codes)`` — located places within the radius;
* area part: ``inner.resolve(query without center)``, keeping a recipient only if one of their *unlocated*
  places covers the area (ward → also its city's city-level registrants, as the subscriptions room does).

Other queries (JMA, staff broadcasts, police jobs placed only at municipality level) pass through unchanged.
Wiring (``bot/bootstrap.py``): ``NoticeAudience(SubscriptionAudience(...), subscription_store, gazetteer)`` as
the engine's ``AudienceSource``. A cleaner long-term shape is an ``AudienceQuery`` flag (e.g. area members
"without a point") in the subscriptions room — reported to its owner.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

from alerts.categories import CRIME
from alerts.geo import Gazetteer
from alerts.subscriptions import SubscriptionStore, area_keys_for_place, area_keys_for_query
from broadcasts.audience import AudienceQuery, AudienceSource, Recipient

_BATCH = 200
_CONCURRENCY = 16


def is_police_query(query: AudienceQuery) -> bool:
    return (
        query.categories == (CRIME,)
        and query.center is not None
        and bool(query.radius_m)
        and bool(query.area_codes)
        and not query.all_friends
    )


class NoticeAudience:
    def __init__(self, inner: AudienceSource, subscriptions: SubscriptionStore, gazetteer: Gazetteer) -> None:
        self._inner = inner
        self._subs = subscriptions
        self._g = gazetteer

    async def resolve(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        if not is_police_query(query):
            async for r in self._inner.resolve(query):
                yield r
            return
        seen: set[str] = set()
        async for r in self._inner.resolve(dataclasses.replace(query, area_codes=())):
            if r.user_id not in seen:
                seen.add(r.user_id)
                yield r
        wanted = set(area_keys_for_query(query.area_codes, self._g))
        batch: list[Recipient] = []
        async for r in self._inner.resolve(dataclasses.replace(query, center=None, radius_m=None)):
            if r.user_id in seen:
                continue
            batch.append(r)
            if len(batch) >= _BATCH:
                for kept in await self._whole_area(query.tenant, batch, wanted):
                    seen.add(kept.user_id)
                    yield kept
                batch = []
        for kept in await self._whole_area(query.tenant, batch, wanted):
            yield kept

    async def _whole_area(self, tenant: str, batch: list[Recipient], wanted: set[str]) -> list[Recipient]:
        sem = asyncio.Semaphore(_CONCURRENCY)  # redis-py's pool holds 100 connections; the engine needs some too

        async def get(uid: str):  # noqa: ANN202
            async with sem:
                return await self._subs.get(tenant, uid)

        subs = await asyncio.gather(*(get(r.user_id) for r in batch))
        out = []
        for r, sub in zip(batch, subs):
            if sub is None:
                continue
            if any(p.lat is None and wanted & set(area_keys_for_place(p, self._g)) for p in sub.places):
                out.append(r)
        return out
