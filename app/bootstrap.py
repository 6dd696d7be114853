"""The composition root: the one place that builds clients and wires rooms together.

Every process (web, worker, scheduler, CLI) calls ``open_container``; nothing else creates clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from bot.config import Settings, Tenant, load_tenants
from bot.inbox import RedisInbox
from bot.leases import RedisLeases
from bot.line import LineGateway, SdkLineGateway
from bot.redis_client import connect as connect_redis
from bot.redis_server import embedded_redis
from bot.router import Dispatcher, Rooms, default_middlewares
from bot.users import RedisUserStore

log = logging.getLogger("civicapp.bootstrap")


@dataclass
class Container:
    settings: Settings
    tenants: dict[str, Tenant]
    redis: aioredis.Redis
    users: RedisUserStore
    inbox: RedisInbox
    leases: RedisLeases
    line: LineGateway
    rooms: Rooms
    dispatcher: Dispatcher
    extras: dict[str, Any] = field(default_factory=dict)
    _closers: list[Any] = field(default_factory=list)


@contextlib.contextmanager
def redis_for(settings: Settings) -> Iterator[str]:
    """REDIS_URL when set; otherwise attach to (or start) the embedded server under the data dir."""
    if settings.redis_url:
        yield settings.redis_url
        return
    with embedded_redis(settings.data_dir / "redis") as handle:
        if handle.owned:
            log.info("embedded Redis started", extra={"url": handle.url})
        yield handle.url


HANDOFF_POLICY_KEYS = {
    "show_display_name", "include_crisis_text", "minutes_per_case", "inactivity_minutes", "retention_days",
    "labels", "categories", "closing_message", "handback_message", "timeout_message",
}


def handoff_policy(tenant: Tenant):
    """The tenant's `handoff:` block over the safe defaults of handoff.HandoffPolicy; unknown keys are an error."""
    import dataclasses

    from bot.config import ConfigError
    from handoff import HandoffPolicy

    raw = dict(tenant.handoff or {})
    unknown = set(raw) - HANDOFF_POLICY_KEYS
    if unknown:
        raise ConfigError(f"tenant {tenant.id}: unknown handoff settings {sorted(unknown)} (known: {sorted(HANDOFF_POLICY_KEYS)})")
    for key in ("labels", "categories"):
        if key in raw:
            raw[key] = tuple(str(x) for x in raw[key])
    return dataclasses.replace(HandoffPolicy(), **raw)


def _now():
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc)


def alerts_ports(settings: Settings, tenants: dict[str, Tenant], client: aioredis.Redis, users, extras: dict[str, Any]):
    """Subscriptions, JMA pipeline and the delivery port, once per process (sync: loads the gazetteer)."""
    if "alerts" not in extras:
        import alerts
        from broadcasts.engine import RedisDeliverer

        deliverer = extras.setdefault("deliverer", RedisDeliverer(client))
        feed_config = alerts.FeedConfig(
            base_url=settings.jma_feed_base_url or alerts.FeedConfig().base_url, interval_s=max(1, settings.jma_poll_seconds)
        )
        extras["alerts"] = alerts.wire_alerts(client, users, deliverer, lambda: list(tenants), feed_config)
        extras["gazetteer"] = extras["alerts"].gazetteer
        extras["feed_names"] = list(feed_config.feeds)
    return extras["alerts"]


def notices_ports(settings: Settings, tenants: dict[str, Tenant], client: aioredis.Redis, users, extras: dict[str, Any]):
    """Police / child-safety notices: incident store, per-tenant config, and the audience the engine uses."""
    if "notices" not in extras:
        from alerts.notices import NoticeAudience, NoticeDeps, NoticesConfig, RedisIncidentStore

        wired = alerts_ports(settings, tenants, client, users, extras)
        configs = {tid: NoticesConfig.model_validate(t.notices or {}) for tid, t in tenants.items()}
        extras["notices"] = NoticeDeps(
            gazetteer=wired.gazetteer,
            store=RedisIncidentStore(client),
            deliverer=extras["deliverer"],
            config=lambda tenant: configs.get(tenant) or NoticesConfig(),
            subscriptions=wired.store,
            tenant_ids=tuple(tenants),
        )
        extras["engine_audience"] = NoticeAudience(wired.audience, wired.store, wired.gazetteer)
    return extras["notices"]


class NoticesRoom:
    """「近くで不審者情報ある？」: recent incidents near the resident's registered places."""

    def __init__(self, deps) -> None:
        self.deps = deps

    async def on_text(self, incoming, parse) -> list[dict] | None:
        from alerts.notices import is_nearby_question, nearby

        return await nearby(incoming, self.deps) if is_nearby_question(incoming.text) else None

    async def on_postback(self, incoming, data) -> list[dict] | None:
        return None


def faq_ports(client: aioredis.Redis, extras: dict[str, Any]):
    """One FAQ store and live index per process (the web's admin edits and the worker's answers share Redis)."""
    if "faq_index" not in extras:
        from faq.index import LiveIndex
        from faq.store import RedisFaqStore
        from faq.vectors import load_ginza_vectors

        store = RedisFaqStore(client)
        extras["faq_store"] = store
        extras["faq_index"] = LiveIndex(store, vectors=load_ginza_vectors())
    return extras["faq_store"], extras["faq_index"]


async def build_rooms(
    settings: Settings, tenants: dict[str, Tenant], client: aioredis.Redis, line: LineGateway, users, closers: list, extras: dict, chat: bool
) -> Rooms:
    """Wire the feature rooms into the router; rooms get their ports here and nowhere else."""
    import handoff
    from faq.chat import FaqDeps, FaqRoom
    from nlu.intents import CONSULTATION_ROUTES, FALLBACK_INTENT, FAQ_TOPICS, OUT_OF_SCOPE

    import aiohttp

    from bot.crisis import CrisisLayer
    from nlu.breaker import CircuitBreaker
    from nlu.crisis import default_detector
    from nlu.fallback import FallbackNlu
    from nlu.rasa_client import RasaNlu
    from nlu.resilient import ResilientNlu

    nlu = crisis = None
    if chat:  # the worker (and chat CLIs): the fallback classifier trains in ~5 s, the web process does not need it
        session = aiohttp.ClientSession()
        closers.append(session.close)
        breaker = CircuitBreaker()
        rasa = RasaNlu(settings.nlu_url, session, timeout=settings.nlu_timeout_seconds, breaker=breaker)
        fallback = await asyncio.to_thread(FallbackNlu.from_yaml)
        nlu = ResilientNlu(rasa, fallback, breaker, deadline=settings.nlu_timeout_seconds + 0.2)
        extras["nlu"] = nlu
        crisis = CrisisLayer(await asyncio.to_thread(default_detector))

    hd = handoff.HandoffDeps(
        store=handoff.RedisHandoffStore(client),
        bus=handoff.RedisHandoffBus(client),
        line=line,
        kpi=extras["kpi"],
        policies={tid: handoff_policy(t) for tid, t in tenants.items()},
    )
    extras["handoff"] = hd

    faq_store, faq_index = faq_ports(client, extras)
    faq_room = FaqRoom(
        FaqDeps(index=faq_index, store=faq_store, topic_labels=FAQ_TOPICS, kpi=extras["kpi"]), unsure_intents=frozenset({FALLBACK_INTENT, OUT_OF_SCOPE})
    )
    import alerts

    wired = await asyncio.to_thread(alerts_ports, settings, tenants, client, users, extras)
    feed_config = wired.feed_deps.config
    deliverer = extras["deliverer"]
    alerts_room = wired.room
    notice_deps = notices_ports(settings, tenants, client, users, extras)

    def schedule_notices(scheduler) -> None:
        from alerts.notices import schedule_jobs as schedule_notice_jobs

        schedule_notice_jobs(scheduler, notice_deps)

    extras.setdefault("scheduler_jobs", []).append(schedule_notices)

    # the delivery engine runs next to the chat worker in `civicbot serve worker`
    from broadcasts import DeliveryDeps, run_delivery_worker
    from broadcasts.fastline import FastMulticastLinePort  # multicast without per-id pydantic checks (bench/fanout.py)

    async def delivery_worker(stop: asyncio.Event) -> None:
        port = FastMulticastLinePort({t.id: t.channel_token.get_secret_value() for t in tenants.values()}, settings.line_api_url)
        try:
            await run_delivery_worker(
                DeliveryDeps(redis=client, line=port, users=users, audience=extras["engine_audience"], tenants=list(tenants)), stop
            )
        finally:
            await port.close()

    extras.setdefault("worker_tasks", {})["delivery"] = delivery_worker

    from kpi.service import SubscriberCounts, take_snapshots

    # residents register places outside their own city (実家), so every Osaka code is counted for every tenant
    area_codes = [m.jis5 for m in wired.gazetteer.municipalities(wards=True)]
    last_counts: dict[str, Any] = {}

    async def subscriber_counts(tenant: str) -> SubscriberCounts:
        c = await wired.store.counts(tenant, area_codes)
        last_counts[tenant] = c
        return SubscriberCounts(total=c.total, by_area=c.by_area, by_category=c.by_category)

    async def subscriber_languages(tenant: str) -> dict[str, int]:  # same scan as above (called right after it)
        c = last_counts.pop(tenant, None) or await wired.store.counts(tenant, area_codes)
        return c.by_language

    async def kpi_snapshots() -> None:
        await take_snapshots(
            extras["kpi"], list(tenants), friends=users.count_active, subscribers=subscriber_counts, languages=subscriber_languages
        )

    extras.setdefault("scheduler_jobs", []).append(
        lambda scheduler: scheduler.add_job(kpi_snapshots, "interval", hours=1, id="kpi-snapshots", next_run_time=_now())
    )

    from app.delivery_kpis import record_finished_jobs, redis_marker

    async def delivery_kpis() -> None:
        await record_finished_jobs(deliverer, extras["kpi"], redis_marker(client), list(tenants))

    extras["scheduler_jobs"].append(
        lambda scheduler: scheduler.add_job(delivery_kpis, "interval", seconds=30, id="kpi-deliveries", max_instances=1)
    )

    from broadcasts import RedisDraftStore, dispatch_due

    drafts = RedisDraftStore(client)

    async def release_scheduled_broadcasts() -> None:
        await dispatch_due(drafts, deliverer, list(tenants))

    extras.setdefault("scheduler_jobs", []).append(
        lambda scheduler: scheduler.add_job(release_scheduled_broadcasts, "interval", seconds=5, id="broadcast-drafts")
    )

    def schedule_feeds(scheduler) -> None:
        from kpi.health import RedisFeedStatus

        poller = alerts.schedule_jobs(scheduler, wired.feed_deps)
        feed_status = RedisFeedStatus(client)

        async def poll_and_record() -> None:  # /readyz reads when each feed last succeeded
            stats = await poller.poll_once()
            # PollStats counts errors, not which feed failed: one failing feed marks all as not fresh (conservative)
            for name in feed_config.feeds:
                await feed_status.polled(name, stats.feed_errors == 0)

        scheduler.modify_job("jma-feed-poll", func=poll_and_record, kwargs={})

        async def close_poller() -> None:
            if wired.feed_deps.poller is not None:
                await wired.feed_deps.poller.close()

        closers.append(close_poller)

    if settings.jma_poll_seconds > 0:
        extras.setdefault("scheduler_jobs", []).append(schedule_feeds)

    async def migrate_subscription_indexes() -> None:  # idempotent; see `civicbot alerts rebuild-indexes`
        for tenant in tenants:
            if await users.needs_migration(tenant):
                n = await users.migrate_legacy(tenant)
                log.info("users moved to the current layout", extra={"tenant": tenant, "users": n})
            if await wired.store.needs_rebuild(tenant):
                n = await wired.store.rebuild_indexes(tenant)
                log.info("subscription indexes rebuilt", extra={"tenant": tenant, "subscriptions": n})

    extras.setdefault("scheduler_jobs", []).append(
        lambda scheduler: scheduler.add_job(migrate_subscription_indexes, "date", run_date=_now(), id="alerts-index-migration")
    )
    rooms = Rooms(
        nlu=nlu,
        crisis=crisis,
        handoff=handoff.HandoffRoom(hd, consultation_routes=CONSULTATION_ROUTES),
        faq=faq_room,
        alerts=alerts_room,
        extra={"notices": NoticesRoom(notice_deps)},
    )

    async def handoff_housekeeping() -> None:
        await handoff.housekeeping(hd, list(tenants))

    extras.setdefault("scheduler_jobs", []).append(
        lambda scheduler: scheduler.add_job(handoff_housekeeping, "interval", seconds=60, id="handoff-housekeeping")
    )
    return rooms


@contextlib.asynccontextmanager
async def open_container(
    settings: Settings,
    redis_url: str,
    *,
    line: LineGateway | None = None,
    chat: bool = False,
    client: aioredis.Redis | None = None,
    tenants: dict[str, Tenant] | None = None,
    extras: dict[str, Any] | None = None,
) -> AsyncIterator[Container]:
    tenants = tenants if tenants is not None else load_tenants(settings.tenants_path(), demo=settings.demo)
    client = client if client is not None else connect_redis(redis_url)
    owns_line = line is None
    gateway: LineGateway = line or SdkLineGateway(tenants, settings.line_api_url)
    users = RedisUserStore(client)
    from bot.resp_channel import RespChannel

    channel = RespChannel(redis_url) if redis_url.startswith("redis://") else None
    closers: list = [channel.aclose] if channel is not None else []
    extras = extras if extras is not None else {}
    from kpi.recorder import BestEffortRecorder, RedisKpiRecorder
    from kpi.service import kpi_middleware

    kpi = extras.setdefault("kpi", BestEffortRecorder(RedisKpiRecorder(client)))  # a KPI outage never blocks a resident
    rooms = await build_rooms(settings, tenants, client, gateway, users, closers, extras, chat)
    container = Container(
        settings=settings,
        tenants=tenants,
        redis=client,
        users=users,
        inbox=RedisInbox(client, settings.inbox_shards, settings.dedup_ttl_seconds, channel=channel),
        leases=RedisLeases(client),
        line=gateway,
        rooms=rooms,
        dispatcher=Dispatcher(users, rooms, middlewares=[kpi_middleware(kpi), *default_middlewares()]),
        extras=extras,
        _closers=closers,
    )
    try:
        yield container
    finally:
        for closer in reversed(closers):
            with contextlib.suppress(Exception):
                await closer()
        if owns_line and hasattr(gateway, "aclose"):
            await gateway.aclose()
        await client.aclose()


CONTAINER = web.AppKey("container", Container)
HTTP = web.AppKey("http", object)


def create_web_app(settings: Settings, redis_url: str, *, line: LineGateway | None = None) -> web.Application:
    """The web process: webhook, health, and the rooms' web pages."""
    import handoff.web
    import staff
    import staff.web
    from bot import webhook

    import faq.admin

    tenants = load_tenants(settings.tenants_path(), demo=settings.demo)
    client = connect_redis(redis_url)
    extras: dict[str, Any] = {}
    import kpi.web
    from kpi.health import RedisFeedStatus, feeds_probe, http_ok, nlu_probe, readyz_handler, redis_probe
    from kpi.logctx import request_id_middleware
    from kpi.metrics import create_metrics, inbox_refresher, metrics_handler, stream_oldest_age, webhook_middleware

    metrics = create_metrics("web")
    extras["metrics"] = metrics
    # the webhook enforces its own 1 MB limit; staff uploads (FAQ CSV) may be larger
    app = web.Application(
        client_max_size=max(settings.webhook_max_body, 6 * 1024 * 1024),
        middlewares=[request_id_middleware(), webhook_middleware(metrics, lambda: app.get(webhook.TENANTS, {}))],
    )
    kpi.web.setup(app)
    app[webhook.MAX_BODY] = settings.webhook_max_body
    staff.web.setup(app)
    handoff.web.setup(app)
    faq_store, faq_index = faq_ports(client, extras)
    app.add_subapp("/admin/faq", faq.admin.create_app(faq.admin.FaqAdminDeps(store=faq_store, index=faq_index)))

    from alerts.categories import CATEGORIES, LABELS_JA
    from broadcasts import ComposerChoices, RedisDraftStore
    from broadcasts.admin import ComposerDeps, create_admin_app

    wired = alerts_ports(settings, tenants, client, RedisUserStore(client), extras)
    choices = ComposerChoices(
        areas=[(m.jis5, m.name) for m in wired.gazetteer.municipalities(wards=True)],
        categories=[(c, LABELS_JA.get(c, c)) for c in CATEGORIES],
    )
    composer = ComposerDeps(RedisDraftStore(client), extras["deliverer"], wired.audience, staff.RedisStaffStore(client), choices)
    app.add_subapp("/admin/broadcasts", create_admin_app(composer))
    from alerts.web import create_app as alerts_admin_app

    app.add_subapp("/admin/alerts", alerts_admin_app(wired.archive))
    from alerts.notices.web import create_app as notices_admin_app

    app.add_subapp("/admin/notices", notices_admin_app(notices_ports(settings, tenants, client, RedisUserStore(client), extras)))

    async def container_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_container(settings, redis_url, line=line, client=client, tenants=tenants, extras=extras) as container:
            app[CONTAINER] = container
            app[webhook.TENANTS] = container.tenants
            app[webhook.INBOX] = container.inbox
            app[webhook.PARSERS] = webhook.make_parsers(container.tenants)
            staff_store = staff.RedisStaffStore(container.redis)
            container.extras["staff_store"] = staff_store
            staff.web.bind(app, staff.web.StaffDeps(store=staff_store, tenants=container.tenants, policy=staff.LoginPolicy()))
            handoff.web.bind(app, handoff.web.HandoffWebDeps(handoff=container.extras["handoff"], tenants=container.tenants))
            kpi.web.bind(
                app, kpi.web.KpiWebDeps(recorder=container.extras["kpi"], tenants=container.tenants, base_url=settings.public_base_url or "")
            )
            import aiohttp

            async with aiohttp.ClientSession() as session:
                app[HTTP] = session
                yield

    app.cleanup_ctx.append(container_ctx)
    app.add_routes(webhook.routes())
    from app import admin_index

    app.add_routes(admin_index.routes())
    streams = [RedisInbox.stream_key(s) for s in range(settings.inbox_shards)]
    app.router.add_get(
        "/metrics",
        metrics_handler(metrics, [lambda: inbox_refresher(metrics, app[CONTAINER].inbox.depth, stream_oldest_age(client, streams))()]),
    )
    app.router.add_get(
        "/readyz",
        readyz_handler(
            lambda request: {
                "redis": redis_probe(client),
                "nlu": nlu_probe(http_ok(app[HTTP], settings.nlu_url.rstrip("/") + "/"), fallback_active=True),
                "feeds": feeds_probe(RedisFeedStatus(client), extras.get("feed_names", []), max_age_seconds=600),
            }
        ),
    )
    return app
