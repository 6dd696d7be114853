"""What the composition root calls to build this room's ports (one function, so the wiring stays a few lines)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from bot.redis_client import RedisClient
from bot.users import UserStore
from reports.area import Gazetteer, GazetteerArea
from reports.config import ReportsConfig
from reports.line import LineContentSource
from reports.photos import FilePhotoStore
from reports.service import Mailer, ReportsDeps, ReportsKpi, StatusNotices
from reports.store import RedisDraftStore, RedisReportStore


def configs_for(tenants: Mapping[str, Any]) -> dict[str, ReportsConfig]:
    """Each tenant's ``reports:`` block validated (an error names the tenant)."""
    out = {}
    for tid, tenant in tenants.items():
        try:
            out[tid] = ReportsConfig.model_validate(getattr(tenant, "reports", None) or {})
        except ValueError as exc:
            raise ValueError(f"tenant {tid}: invalid reports settings: {exc}") from exc
    return out


def build_deps(
    client: RedisClient,
    tenants: Mapping[str, Any],
    notices: StatusNotices,
    users: UserStore,
    gazetteer: Gazetteer,
    data_dir: Path,
    *,
    session: aiohttp.ClientSession | None = None,
    line_api_url: str | None = None,
    mailer: Mailer | None = None,
    kpi: ReportsKpi | None = None,
) -> ReportsDeps:
    content = None
    if session is not None:
        tokens = {tid: t.channel_token.get_secret_value() for tid, t in tenants.items()}
        content = LineContentSource(tokens, session, line_api_url)
    return ReportsDeps(
        reports=RedisReportStore(client),
        drafts=RedisDraftStore(client),
        photos=FilePhotoStore(Path(data_dir) / "reports" / "photos"),
        notices=notices,
        users=users,
        area=GazetteerArea(gazetteer, {tid: t.jis5 for tid, t in tenants.items()}),
        configs=configs_for(tenants),
        content=content,
        mailer=mailer,
        kpi=kpi,
        display_names={tid: t.display_name for tid, t in tenants.items()},
    )
