"""The stateful ports every process shares, built once per process (the web's admin pages and the container use
the same objects). Includes the alerts room's wiring (``wire_alerts``), used by its integration tests too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import garbage
from alerts.chat import AlertsRoom, ChatDeps
from alerts.feeds import FeedConfig, FeedDeps, RedisSeenStore
from alerts.geo import Gazetteer
from alerts.jma.parser import Telegram
from alerts.notices import NoticeAudience, NoticeDeps, NoticesConfig, RedisIncidentStore
from alerts.service import AlertDeps, RedisAlertLedger, RedisTelegramArchive, drill_recorder
from alerts.subscriptions import RedisSubscriptionStore, SubscriptionAudience
from app.reports_delivery import NOTICE_TAG, ReportsAudience
from bot.config import Settings, Tenant
from bot.quiet import QuietHours
from bot.redis_client import RedisClient
from bot.users import RedisUserStore, UserStore
from broadcasts.audience import AudienceRouter, AudienceSource
from broadcasts.engine import RedisDeliverer
from broadcasts.jobs import Deliverer
from disaster import DisasterDeps, on_telegram, wire_disaster
from disaster.richmenu import SdkRichMenuApi
from faq.index import LiveIndex
from faq.store import RedisFaqStore
from faq.unanswered import RedisUnansweredStore
from faq.vectors import load_ginza_vectors
from garbage import GarbageDeps
from garbage import RedisPorts as GarbagePorts
from garbage.search import LazyAnalyzer
from garbage.service import AUDIENCE_TAG as GARBAGE_TAG
from kpi.recorder import BestEffortRecorder, RedisKpiRecorder
from nlu.rasa_components.textfold import fold
from reports.store import RedisReportStore
from staff.model import AuditEntry
from staff.store import RedisStaffStore


@dataclass
class AlertsWiring:
    """The alerts room's pieces, built once per process by ``wire_alerts``."""

    gazetteer: Gazetteer
    store: RedisSubscriptionStore
    audience: SubscriptionAudience  # the delivery engine's AudienceSource (wrapped by NoticeAudience)
    archive: RedisTelegramArchive  # admin view: archive.recent("drill"), archive.recent("rejected")
    room: AlertsRoom
    alert_deps: AlertDeps
    feed_deps: FeedDeps  # schedule_jobs(scheduler, feed_deps) in `civicbot serve scheduler`


def wire_alerts(
    client: RedisClient,
    users: UserStore,
    deliverer: Deliverer,
    tenant_ids: Callable[[], Iterable[str]],
    feed_config: FeedConfig | None = None,
    on_drill: Callable[[Telegram], Awaitable[None]] | None = None,
    on_actual: Callable[[Telegram], Awaitable[None]] | None = None,
) -> AlertsWiring:
    """Subscriptions, JMA pipeline and chat room over one Redis (sync: loads the gazetteer)."""
    g = Gazetteer.load()
    store = RedisSubscriptionStore(client, g)
    audience = SubscriptionAudience(store, users, g)
    archive = RedisTelegramArchive(client)
    alert_deps = AlertDeps(
        deliverer,
        g,
        RedisAlertLedger(client),
        tenants=tenant_ids,
        on_drill=on_drill or drill_recorder(archive),
        may_reach=audience.may_reach,
        on_actual=on_actual,
    )
    feed_deps = FeedDeps(alert_deps, RedisSeenStore(client), feed_config or FeedConfig(), archive=archive)
    return AlertsWiring(g, store, audience, archive, AlertsRoom(ChatDeps(store, g, users)), alert_deps, feed_deps)


class AlertPlaces:
    """The garbage room's view of a resident's alerts registration (places, quiet hours)."""

    def __init__(self, store: RedisSubscriptionStore) -> None:
        self._store = store

    async def places(self, tenant: str, user_id: str) -> list[garbage.PlaceRef]:
        sub = await self._store.get(tenant, user_id)
        return [garbage.PlaceRef(p.id, p.name, p.town) for p in sub.places] if sub else []

    async def quiet_hours(self, tenant: str, user_id: str) -> QuietHours | None:
        sub = await self._store.get(tenant, user_id)
        return sub.quiet_hours if sub else None  # one QuietHours (bot.quiet) for both rooms


@dataclass
class Ports:
    """The stateful ports every process shares (the web's admin pages and the container use the same objects)."""

    users: RedisUserStore
    kpi: BestEffortRecorder
    deliverer: RedisDeliverer
    alerts: AlertsWiring
    notices: NoticeDeps
    engine_audience: AudienceSource  # what the delivery engine resolves audiences with (reports → garbage → notices → alerts)
    faq_store: RedisFaqStore
    faq_index: LiveIndex
    faq_unanswered: RedisUnansweredStore  # the FAQ improvement loop's list (bot writes, admin pages read)
    feed_names: list[str]
    disaster: DisasterDeps
    garbage: GarbagePorts
    garbage_deps: GarbageDeps


def disaster_ports(
    settings: Settings, tenants: dict[str, Tenant], client: RedisClient, subscriptions: RedisSubscriptionStore | None
) -> DisasterDeps:
    """The disaster room: mode + shelter stores, the Rich Menu API (line-bot-sdk), the staff audit log as its audit
    port, the gazetteer for alert areas, alerts' registered places, the NLU's text folding."""
    staff_store = RedisStaffStore(client)
    gazetteer = Gazetteer.load()

    async def audit(tenant: str, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        await staff_store.append_audit(AuditEntry(tenant=tenant, actor=actor, action=action, target=target, detail=detail))

    def areas_of(code: str) -> set[str]:
        unit = gazetteer.get(code) or (gazetteer.get(code[:5]) if len(code) == 7 else None)
        if unit is not None:
            return {unit.jis5} | ({unit.parent} if unit.parent else set())
        return set(gazetteer.expand_area(code))

    async def registered_places(tenant: str, user_id: str) -> list[tuple[str, float, float]]:
        sub = await subscriptions.get(tenant, user_id) if subscriptions is not None else None
        return [(p.name, p.lat, p.lng) for p in (sub.places if sub else []) if p.lat is not None and p.lng is not None]

    api = SdkRichMenuApi({t.id: t.channel_token.get_secret_value() for t in tenants.values()}, settings.line_api_url)
    configs = {tid: (t.rich_menus, t.disaster) for tid, t in tenants.items()}
    return wire_disaster(client, tenants, api, audit, areas_of, configs, places=registered_places, fold=fold)


def build_ports(settings: Settings, tenants: dict[str, Tenant], client: RedisClient) -> Ports:
    """Every store and shared service once per process (sync: loads the gazetteer and the FAQ word vectors)."""
    users = RedisUserStore(client)
    kpi = BestEffortRecorder(RedisKpiRecorder(client))  # a KPI outage never blocks a resident
    deliverer = RedisDeliverer(client)
    feed_config = FeedConfig(
        base_url=settings.jma_feed_base_url or FeedConfig().base_url, interval_s=max(1, settings.jma_poll_seconds)
    )
    disaster: list[DisasterDeps] = []  # built after the alerts wiring; its observer looks it up when a telegram comes

    async def disaster_observer(telegram: Telegram) -> None:  # disaster mode on thresholds (disaster.on_telegram)
        for deps in disaster:
            await on_telegram(deps, telegram)

    wired = wire_alerts(client, users, deliverer, lambda: list(tenants), feed_config, on_actual=disaster_observer)
    disaster.append(disaster_ports(settings, tenants, client, wired.store))
    configs = {tid: NoticesConfig.model_validate(t.notices or {}) for tid, t in tenants.items()}
    notices = NoticeDeps(
        gazetteer=wired.gazetteer,
        store=RedisIncidentStore(client),
        deliverer=deliverer,
        config=lambda tenant: configs.get(tenant) or NoticesConfig(),
        subscriptions=wired.store,
        tenant_ids=tuple(tenants),
    )
    faq_store = RedisFaqStore(client)
    gports = garbage.redis_ports(client, active_key=users.active_key)
    gdeps = garbage.GarbageDeps(
        gports.datasets, gports.unknown, gports.reminders, LazyAnalyzer(), garbage.load_lexicon(), places=AlertPlaces(wired.store)
    )
    return Ports(
        users=users,
        kpi=kpi,
        deliverer=deliverer,
        alerts=wired,
        notices=notices,
        engine_audience=AudienceRouter(
            NoticeAudience(wired.audience, wired.store, wired.gazetteer),
            {
                NOTICE_TAG: ReportsAudience(RedisReportStore(client), users),
                GARBAGE_TAG: garbage.GarbageAudience(gports.reminders),
            },
        ),
        faq_store=faq_store,
        faq_index=LiveIndex(faq_store, vectors=load_ginza_vectors()),
        faq_unanswered=RedisUnansweredStore(client),
        feed_names=list(feed_config.feeds),
        disaster=disaster[0],
        garbage=gports,
        garbage_deps=gdeps,
    )
