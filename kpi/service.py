"""Glue the composition root calls: a chat middleware that counts events, and the periodic subscribers snapshot.

Both take the recorder as an argument (wrap it in ``BestEffortRecorder`` so statistics never block a resident).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kpi.recorder import KpiRecorder

log = logging.getLogger("civicbot.kpi")


def kpi_middleware(recorder: KpiRecorder):
    """Router middleware (``async def mw(handler, incoming, data)``): follow → friend_added, unfollow →
    friend_removed, anything else a resident sends → message_received. Put it first in the chain so that messages
    a counsellor holds or the crisis layer answers are counted too. Records only the tenant and the day."""

    async def middleware(handler, incoming, data: dict[str, Any]):
        tenant = incoming.tenant.id
        try:
            if incoming.kind == "follow":
                await recorder.friend_added(tenant)
            elif incoming.kind == "unfollow":
                await recorder.friend_removed(tenant)
            else:
                await recorder.message_received(tenant)
        except Exception:  # noqa: BLE001 — statistics must never break the chat
            log.warning("kpi middleware failed", extra={"tenant": tenant}, exc_info=True)
        return await handler(incoming, data)

    return middleware


@dataclass
class SubscriberCounts:
    total: int = 0
    by_area: Mapping[str, int] = field(default_factory=dict)  # JIS code (5 digits) -> subscribers; include zeros
    by_category: Mapping[str, int] = field(default_factory=dict)  # alerts category id -> subscribers


async def take_snapshots(
    recorder: KpiRecorder,
    tenant_ids: Iterable[str],
    *,
    friends: Callable[[str], Awaitable[int]],
    subscribers: Callable[[str], Awaitable[SubscriberCounts]] | None = None,
    languages: Callable[[str], Awaitable[Mapping[str, int]]] | None = None,
) -> int:
    """Record today's snapshot per tenant (run hourly from the scheduler; the day's last one is what is published).

    ``friends`` = ``users.count_active``; ``subscribers``/``languages`` come from the alerts room and the user store.
    A failing tenant is logged and skipped. Returns how many tenants were recorded.
    """
    done = 0
    for tenant in tenant_ids:
        try:
            n_friends = await friends(tenant)
            subs = await subscribers(tenant) if subscribers else SubscriberCounts()
            langs = await languages(tenant) if languages else {}
            await recorder.subscribers_snapshot(
                tenant, friends=n_friends, subscribers=subs.total, by_area=subs.by_area, by_category=subs.by_category, by_language=langs
            )
            done += 1
        except Exception:  # noqa: BLE001
            log.warning("kpi snapshot failed", extra={"tenant": tenant}, exc_info=True)
    return done
