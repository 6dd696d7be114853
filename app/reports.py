"""Wiring of the reports room (通報): its ports per process, its scheduler jobs, its web pages and dashboard table.

The chat worker's deps fetch photos from LINE (a session of their own); status changes (web) are handed to the
delivery engine (``app.reports_delivery``); both share Redis and the photo directory under the data dir.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

import kpi.web
from app.jobs import Closer, SchedulerJob
from app.ports import Ports
from app.reports_delivery import EngineNotices
from bot.config import ConfigError, Settings, Tenant
from bot.redis_client import RedisClient
from reports import ReportsDeps
from reports import open311 as reports_open311
from reports import web as reports_web
from reports.mail import SmtpMailer
from reports.service import count_table, purge_expired, send_digests
from reports.store import RedisApiKeyStore
from reports.wiring import build_deps


def build_reports(
    settings: Settings,
    tenants: dict[str, Tenant],
    client: RedisClient,
    ports: Ports,
    closers: list[Closer],
    *,
    fetch_photos: bool,
) -> ReportsDeps:
    session = None
    if fetch_photos:  # the chat worker downloads residents' photos (LINE's content API)
        session = aiohttp.ClientSession()
        closers.append(session.close)
    return build_deps(
        client, tenants, EngineNotices(ports.deliverer), ports.users, ports.alerts.gazetteer, settings.data_dir,
        session=session, line_api_url=settings.line_api_url, mailer=smtp_mailer(settings), kpi=ports.kpi,
    )  # fmt: skip


def smtp_mailer(settings: Settings) -> SmtpMailer | None:
    """The department digest's relay from the settings (credentials from the environment); None = no e-mail."""
    if not settings.smtp_host:
        return None
    try:
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            security=settings.smtp_security,
            username=settings.smtp_username or "",
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else "",
            ca_file=settings.smtp_ca_file,
        )
    except ValueError as exc:
        raise ConfigError(f"CIVICBOT_SMTP_*: {exc}") from exc


def reports_jobs(deps: ReportsDeps, tenants: list[str], base_url: str) -> SchedulerJob:
    """The departments' digest at 08:00 JST and retention at 03:30 JST."""

    async def digests() -> None:
        for tenant in tenants:
            await send_digests(deps, tenant, base_url)

    async def retention() -> None:
        for tenant in tenants:
            await purge_expired(deps, tenant)

    def add(scheduler: AsyncIOScheduler) -> None:
        scheduler.add_job(digests, "cron", hour=8, minute=0, timezone="Asia/Tokyo", id="reports-digest", max_instances=1)
        scheduler.add_job(retention, "cron", hour=3, minute=30, timezone="Asia/Tokyo", id="reports-retention", max_instances=1)

    return add


def mount_reports(
    app: web.Application, settings: Settings, tenants: dict[str, Tenant], client: RedisClient, ports: Ports
) -> ReportsDeps:
    """``/admin/reports`` and ``/open311/v2``; status changes made here go out through the delivery engine."""
    deps = build_reports(settings, tenants, client, ports, [], fetch_photos=False)
    keys = RedisApiKeyStore(client)
    base = settings.public_base_url or ""
    app.add_subapp("/admin/reports", reports_web.create_app(reports_web.ReportsWebDeps(deps, keys, base)))
    app.add_subapp("/open311/v2", reports_open311.create_app(reports_open311.Open311Deps(deps, keys, tenants, base)))
    return deps


def dashboard_table(deps: ReportsDeps) -> kpi.web.TableSource:
    async def table(tenant: str, lang: str) -> kpi.web.CountTable:
        return kpi.web.CountTable(*await count_table(deps, tenant, lang))

    return table
