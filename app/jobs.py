"""The background work of the processes: scheduler jobs (`civicbot serve scheduler`) and tasks that run next to the
chat worker (`civicbot serve worker`). Built from the shared ports; registered on the container by bootstrap."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

import garbage
import handoff
from alerts.feeds import schedule_jobs as schedule_feed_jobs
from alerts.notices import schedule_jobs as schedule_notice_jobs
from alerts.subscriptions import SubscriptionCounts
from app.delivery_kpis import record_finished_jobs, redis_marker
from app.ports import Ports
from bot.config import Settings, Tenant
from bot.redis_client import RedisClient
from broadcasts import DeliveryDeps, QuotaGuard, RedisDraftStore, SdkLinePort, dispatch_due, run_delivery_worker
from broadcasts.fastline import FastMulticastLinePort  # multicast without per-id pydantic checks (bench/fanout.py)
from broadcasts.store import RedisDeliveryStore
from disaster import scheduled_sync
from kpi.health import RedisFeedStatus
from kpi.service import SubscriberCounts, take_snapshots

log = logging.getLogger("civicbot.bootstrap")

Closer = Callable[[], Awaitable[object]]
SchedulerJob = Callable[[AsyncIOScheduler], object]  # registers one or more jobs on the scheduler
WorkerTask = Callable[[asyncio.Event], Coroutine[Any, Any, None]]  # runs next to the chat worker until the event is set


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def register_jobs(
    settings: Settings,
    tenants: dict[str, Tenant],
    client: RedisClient,
    ports: Ports,
    hd: handoff.HandoffDeps,
    closers: list[Closer],
) -> tuple[list[SchedulerJob], dict[str, WorkerTask]]:
    """Every process gets the same list; only the scheduler registers the jobs and only the worker runs the tasks."""
    wired = ports.alerts
    users = ports.users
    deliverer = ports.deliverer
    kpi = ports.kpi
    feed_config = wired.feed_deps.config
    jobs: list[SchedulerJob] = []
    tasks: dict[str, WorkerTask] = {}

    def schedule_notices(scheduler: AsyncIOScheduler) -> None:
        schedule_notice_jobs(scheduler, ports.notices)

    jobs.append(schedule_notices)

    async def delivery_worker(stop: asyncio.Event) -> None:  # the delivery engine runs next to the chat worker
        port = FastMulticastLinePort({t.id: t.channel_token.get_secret_value() for t in tenants.values()}, settings.line_api_url)
        try:
            await run_delivery_worker(
                DeliveryDeps(redis=client, line=port, users=users, audience=ports.engine_audience, tenants=list(tenants)), stop
            )
        finally:
            await port.close()

    tasks["delivery"] = delivery_worker

    # residents register places outside their own city (実家), so every Osaka code is counted for every tenant
    area_codes = [m.jis5 for m in wired.gazetteer.municipalities(wards=True)]
    last_counts: dict[str, SubscriptionCounts] = {}

    async def subscriber_counts(tenant: str) -> SubscriberCounts:
        c = await wired.store.counts(tenant, area_codes)
        last_counts[tenant] = c
        return SubscriberCounts(total=c.total, by_area=c.by_area, by_category=c.by_category)

    async def subscriber_languages(tenant: str) -> dict[str, int]:  # same scan as above (called right after it)
        c = last_counts.pop(tenant, None) or await wired.store.counts(tenant, area_codes)
        return c.by_language

    async def kpi_snapshots() -> None:
        await take_snapshots(
            kpi, list(tenants), friends=users.count_active, subscribers=subscriber_counts, languages=subscriber_languages
        )

    jobs.append(lambda scheduler: scheduler.add_job(kpi_snapshots, "interval", hours=1, id="kpi-snapshots", next_run_time=_now()))

    async def delivery_kpis() -> None:
        await record_finished_jobs(deliverer, kpi, redis_marker(client), list(tenants))

    jobs.append(lambda scheduler: scheduler.add_job(delivery_kpis, "interval", seconds=30, id="kpi-deliveries", max_instances=1))

    drafts = RedisDraftStore(client)

    async def release_scheduled_broadcasts() -> None:
        await dispatch_due(drafts, deliverer, list(tenants))

    jobs.append(lambda scheduler: scheduler.add_job(release_scheduled_broadcasts, "interval", seconds=5, id="broadcast-drafts"))

    def schedule_feeds(scheduler: AsyncIOScheduler) -> None:
        poller = schedule_feed_jobs(scheduler, wired.feed_deps)
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
        jobs.append(schedule_feeds)

    async def migrate_subscription_indexes() -> None:  # idempotent; see `civicbot alerts rebuild-indexes`
        for tenant in tenants:
            if await users.needs_migration(tenant):
                n = await users.migrate_legacy(tenant)
                log.info("users moved to the current layout", extra={"tenant": tenant, "users": n})
            if await wired.store.needs_rebuild(tenant):
                n = await wired.store.rebuild_indexes(tenant)
                log.info("subscription indexes rebuilt", extra={"tenant": tenant, "subscriptions": n})

    jobs.append(
        lambda scheduler: scheduler.add_job(migrate_subscription_indexes, "date", run_date=_now(), id="alerts-index-migration")
    )

    demo_tenants = [tid for tid, t in tenants.items() if t.demo] if settings.demo else []
    jobs.append(  # rich menus uploaded/applied, switches LINE has not taken finished, the demo's shelters seeded
        lambda scheduler: scheduler.add_job(
            scheduled_sync(ports.disaster, demo_tenants),
            "interval",
            seconds=60,
            id="disaster-sync",
            next_run_time=_now(),
            max_instances=1,
        )
    )

    quota_port = SdkLinePort({t.id: t.channel_token.get_secret_value() for t in tenants.values()}, settings.line_api_url)
    closers.append(quota_port.close)
    garbage_quota = QuotaGuard(RedisDeliveryStore(client), quota_port)

    async def garbage_reminders() -> None:  # 前日 20:00 / 当日 7:00, never late (garbage.tick)
        await garbage.tick(
            ports.garbage_deps, deliverer, garbage_quota, ports.garbage.ledger, {tid: t.languages for tid, t in tenants.items()}
        )

    jobs.append(
        lambda scheduler: scheduler.add_job(garbage_reminders, "interval", seconds=30, id="garbage-reminders", max_instances=1)
    )

    async def handoff_housekeeping() -> None:
        await handoff.housekeeping(hd, list(tenants))

    jobs.append(lambda scheduler: scheduler.add_job(handoff_housekeeping, "interval", seconds=60, id="handoff-housekeeping"))
    return jobs, tasks
