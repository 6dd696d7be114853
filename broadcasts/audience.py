"""The audience of a delivery: a query, resolved by whoever owns the people (subscriptions, friends).

Shared vocabulary between `alerts/` (which knows who subscribed to what, where) and `broadcasts/`
(which delivers). The composition root hands the delivery engine an ``AudienceSource``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class AudienceQuery:
    tenant: str
    area_codes: tuple[str, ...] = ()  # JMA 7-digit area codes (jis5 + "00") or 5-digit municipality codes; empty = no area filter
    categories: tuple[str, ...] = ()  # subscription category ids (alerts.categories); empty = any
    languages: tuple[str, ...] = ()  # empty = any
    center: tuple[float, float] | None = None  # (lat, lng) for a radius search
    radius_m: float | None = None
    all_friends: bool = False  # every active friend of the tenant (broadcast --all), categories ignored
    ignore_quiet_hours: bool = False  # emergencies reach people in their quiet hours too
    # An alert and its 取消 reach the same people: ``record_as`` remembers whom this query reached under a source id;
    # ``replay_of`` is exactly the people recorded under one (still only active ones; areas and categories are
    # ignored, and quiet hours do not hold back a 取消 of something they already received).
    record_as: str = ""
    replay_of: str = ""


@dataclass(frozen=True)
class Recipient:
    user_id: str
    language: str = "ja"


class AudienceSource(Protocol):
    def resolve(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        """Yield each active recipient at most once."""
        ...


class AudienceRouter:
    """One ``AudienceSource`` for the engine: a query naming a tagged audience (a category starting with one of
    ``routes``' prefixes, e.g. ``@garbage:`` or ``@reports:``) goes to that prefix's source, in ``routes`` order;
    any other query goes to ``default`` (subscriptions)."""

    def __init__(self, default: AudienceSource | None, routes: Mapping[str, AudienceSource]) -> None:
        self._default = default
        self._routes = dict(routes)

    async def resolve(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        source = next(
            (src for prefix, src in self._routes.items() if any(c.startswith(prefix) for c in query.categories)),
            self._default,
        )
        if source is not None:
            async for recipient in source.resolve(query):
                yield recipient


def tagged(query: AudienceQuery, prefix: str) -> list[str]:
    """The ids after ``prefix`` in the query's categories (``@garbage:g1`` → ``g1``)."""
    return [c[len(prefix) :] for c in query.categories if c.startswith(prefix)]
