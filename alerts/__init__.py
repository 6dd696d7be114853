"""Alerts room: subscriptions, JMA 防災情報XML feeds, targeting, alert messages.

The door for the composition root is ``wire_alerts`` (everything built from a Redis client and the shared
ports); the pieces stay importable for tests and for other rooms (``alerts.geo.Gazetteer`` for geocoding).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import redis.asyncio as aioredis

from alerts.chat import AlertsRoom, ChatDeps
from alerts.feeds import FeedConfig, FeedDeps, RedisSeenStore, schedule_jobs
from alerts.geo import Gazetteer
from alerts.jma.parser import Telegram
from alerts.service import AlertDeps, RedisAlertLedger, RedisTelegramArchive, drill_recorder, process_telegram
from alerts.subscriptions import RedisSubscriptionStore, SubscriptionAudience
from bot.users import UserStore
from broadcasts.jobs import Deliverer


@dataclass
class AlertsWiring:
    gazetteer: Gazetteer
    store: RedisSubscriptionStore
    audience: SubscriptionAudience  # hand to the delivery engine as its AudienceSource
    archive: RedisTelegramArchive  # admin view: archive.recent("drill"), archive.recent("rejected")
    room: AlertsRoom  # Rooms(alerts=...)
    alert_deps: AlertDeps
    feed_deps: FeedDeps  # schedule_jobs(scheduler, feed_deps) in `civicbot serve scheduler`


def wire_alerts(
    client: aioredis.Redis,
    users: UserStore,
    deliverer: Deliverer,
    tenant_ids: Callable[[], Iterable[str]],
    feed_config: FeedConfig | None = None,
    on_drill: Callable[[Telegram], Awaitable[None]] | None = None,
) -> AlertsWiring:
    g = Gazetteer.load()
    store = RedisSubscriptionStore(client, g)
    audience = SubscriptionAudience(store, users, g)
    archive = RedisTelegramArchive(client)
    alert_deps = AlertDeps(
        deliverer, g, RedisAlertLedger(client), tenants=tenant_ids, on_drill=on_drill or drill_recorder(archive),
        may_reach=audience.may_reach,
    )
    feed_deps = FeedDeps(alert_deps, RedisSeenStore(client), feed_config or FeedConfig(), archive=archive)
    return AlertsWiring(g, store, audience, archive, AlertsRoom(ChatDeps(store, g, users)), alert_deps, feed_deps)


__all__ = ["AlertsWiring", "FeedConfig", "Gazetteer", "process_telegram", "schedule_jobs", "wire_alerts"]
