"""Who hears about a police notice — an ``AudienceSource`` adapter over the subscriptions room.

A police job's query carries both a radius (``center``/``radius_m``) and the municipality (``area_codes``).
The issue asks for: located places within the radius, plus people registered for the whole municipality
(a place chosen as a municipality/ward, without a point) — never a located place 3 km away in the same ward.

``SubscriptionAudience`` resolves exactly that for ``crime`` queries (it says so with ``radius_narrows_areas``):
whole-area registrants come from the store's ``N:`` membership sets, nearby people from the ``crime`` GEO index,
then one SMISMEMBER + one HMGET per 5,000 ids. Such a source is passed the query unchanged.

Any other inner source is narrowed here without per-subscriber reads:

* radius part: ``inner.resolve(query without area_codes)`` — located places within the radius;
* area part: ``inner.resolve(query without center)``, keeping a recipient only if the store lists them among the
  area's whole-area registrants (``members`` of ``area_keys_for_query(..., unlocated_only=True)``: one SUNION).

Other queries (JMA, staff broadcasts, police jobs placed only at municipality level) pass through unchanged.
Wiring (``app/bootstrap.py``): ``NoticeAudience(SubscriptionAudience(...), subscription_store, gazetteer)`` as
the engine's ``AudienceSource``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

from alerts.categories import CRIME
from alerts.geo import Gazetteer
from alerts.subscriptions import SubscriptionStore, area_keys_for_query
from broadcasts.audience import AudienceQuery, AudienceSource, Recipient


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
        if not is_police_query(query) or getattr(self._inner, "radius_narrows_areas", False):
            async for r in self._inner.resolve(query):
                yield r
            return
        seen: set[str] = set()
        async for r in self._inner.resolve(dataclasses.replace(query, area_codes=())):
            if r.user_id not in seen:
                seen.add(r.user_id)
                yield r
        keys = area_keys_for_query(query.area_codes, self._g, unlocated_only=True)
        whole_area = await self._subs.members(query.tenant, keys, (CRIME,))
        if not whole_area - seen:
            return
        async for r in self._inner.resolve(dataclasses.replace(query, center=None, radius_m=None)):
            if r.user_id in whole_area and r.user_id not in seen:
                seen.add(r.user_id)
                yield r
