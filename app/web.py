"""The web process: webhook, health, metrics, and the rooms' web pages (console, admin, dashboard)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

import crisisreview
import crisisreview.web
import disaster.web
import faq.admin
import garbage.admin
import handoff.web
import kpi.web
import staff
import staff.web
from alerts.categories import CATEGORIES, LABELS_JA
from alerts.notices.web import create_app as notices_admin_app
from alerts.web import create_app as alerts_admin_app
from app.bootstrap import Container, crisis_assessor, open_container
from app.ports import build_ports
from app.reports import dashboard_table, mount_reports
from bot import webhook
from bot.config import Settings, Tenant, load_tenants
from bot.inbox import RedisInbox
from bot.line import LineGateway
from bot.logctx import request_id_middleware
from bot.redis_client import connect as connect_redis
from broadcasts import ComposerChoices, RedisDraftStore
from broadcasts.admin import ComposerDeps, create_admin_app
from kpi.health import RedisFeedStatus, feeds_probe, http_ok, nlu_probe, readyz_handler, redis_probe
from kpi.metrics import create_metrics, inbox_refresher, metrics_handler, stream_oldest_age, webhook_middleware

CONTAINER = web.AppKey("container", Container)
HTTP = web.AppKey("http", aiohttp.ClientSession)


def staff_policy(settings: Settings, tenants: dict[str, Tenant]) -> staff.LoginPolicy:
    """Login policy of the web process: demo accounts only in demo mode, MFA for counsellors where a tenant asks."""
    return staff.LoginPolicy(
        demo_mode=settings.demo, mfa_counsellor_tenants=frozenset(t.id for t in tenants.values() if t.mfa_for_counsellors)
    )


def create_web_app(settings: Settings, redis_url: str, *, line: LineGateway | None = None) -> web.Application:
    tenants = load_tenants(settings.tenants_path(), demo=settings.demo)
    client = connect_redis(redis_url)
    ports = build_ports(settings, tenants, client)
    metrics = create_metrics("web")
    # the webhook enforces its own 1 MB limit; staff uploads (FAQ CSV) may be larger
    app = web.Application(
        client_max_size=max(settings.webhook_max_body, 6 * 1024 * 1024),
        middlewares=[request_id_middleware(), webhook_middleware(metrics, lambda: app.get(webhook.TENANTS, {}))],
    )
    kpi.web.setup(app)
    app[webhook.MAX_BODY] = settings.webhook_max_body
    staff.web.setup(app)
    handoff.web.setup(app)
    app.add_subapp(
        "/admin/faq",
        faq.admin.create_app(
            faq.admin.FaqAdminDeps(store=ports.faq_store, index=ports.faq_index, unanswered=ports.faq_unanswered)
        ),
    )

    wired = ports.alerts
    choices = ComposerChoices(
        areas=[(m.jis5, m.name) for m in wired.gazetteer.municipalities(wards=True)],
        categories=[(c, LABELS_JA.get(c, c)) for c in CATEGORIES],
    )
    composer = ComposerDeps(RedisDraftStore(client), ports.deliverer, wired.audience, staff.RedisStaffStore(client), choices)
    app.add_subapp("/admin/broadcasts", create_admin_app(composer))
    app.add_subapp(
        "/admin/garbage", garbage.admin.create_app(garbage.admin.GarbageAdminDeps(ports.garbage.datasets, ports.garbage.unknown))
    )
    app.add_subapp("/admin/alerts", alerts_admin_app(wired.archive))
    app.add_subapp("/admin/notices", notices_admin_app(ports.notices))
    review = crisisreview.ReviewDeps(store=crisisreview.RedisCrisisReviewStore(client), assessor=crisis_assessor())
    app.add_subapp("/admin/crisis-review", crisisreview.web.create_app(review))
    app.add_subapp("/admin/disaster", disaster.web.create_app(ports.disaster))
    reports = mount_reports(app, settings, tenants, client, ports)

    async def container_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_container(settings, redis_url, line=line, client=client, tenants=tenants, ports=ports) as container:
            app[CONTAINER] = container
            app[webhook.TENANTS] = container.tenants
            app[webhook.INBOX] = container.inbox
            app[webhook.PARSERS] = webhook.make_parsers(container.tenants)
            staff_store = staff.RedisStaffStore(container.redis)
            staff.web.bind(
                app,
                staff.web.StaffDeps(
                    store=staff_store,
                    tenants=container.tenants,
                    policy=staff_policy(settings, container.tenants),
                    trusted_proxies=tuple(settings.trusted_proxies),
                ),
            )
            marks = crisisreview.ConsoleMarks(review)
            handoff.web.bind(
                app, handoff.web.HandoffWebDeps(handoff=container.handoff, tenants=container.tenants, crisis_marks=marks)
            )
            kpi.web.bind(
                app,
                kpi.web.KpiWebDeps(
                    recorder=ports.kpi,
                    tenants=container.tenants,
                    base_url=settings.public_base_url or "",
                    open_shelters=disaster.web.dashboard_shelters(ports.disaster),
                    tables=[dashboard_table(reports)],
                ),
            )
            async with aiohttp.ClientSession() as session:
                app[HTTP] = session
                yield

    app.cleanup_ctx.append(container_ctx)
    app.add_routes(webhook.routes())
    app.add_routes(disaster.web.public_routes(lambda request: ports.disaster))
    streams = [RedisInbox.stream_key(s) for s in range(settings.inbox_shards)]
    ops_token = settings.ops_token.get_secret_value() if settings.ops_token else None
    app.router.add_get(
        "/metrics",
        metrics_handler(
            metrics,
            [lambda: inbox_refresher(metrics, app[CONTAINER].inbox.depth, stream_oldest_age(client, streams))()],
            token=ops_token,
            public=True,
        ),
    )
    app.router.add_get(
        "/readyz",
        readyz_handler(
            lambda request: {
                "redis": redis_probe(client),
                "nlu": nlu_probe(http_ok(app[HTTP], settings.nlu_url.rstrip("/") + "/"), fallback_active=True),
                "feeds": feeds_probe(RedisFeedStatus(client), ports.feed_names, max_age_seconds=600),
                "disaster": disaster.web.mode_probe(ports.disaster),
            },
            token=ops_token,
            public=True,
        ),
    )
    return app
