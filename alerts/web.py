"""Staff page for JMA telegrams that never reach residents: 訓練・試験 (drills/tests) and rejected telegrams.

The issue's rule "訓練 or 試験 never reaches residents (shown to admins only)": the pipeline keeps them in
``TelegramArchive`` (``archive.recent("drill")``, ``archive.recent("rejected")``); this page shows them, read-only.
Mounted by the composition root as a sub-app::

    app.add_subapp("/admin/alerts", alerts.web.create_app(wired.archive))

Gate: ``staff.web.require_role("admin", "supervisor")``. JMA telegrams are public and not per tenant, so every
tenant's staff see the same list.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from alerts.service import TelegramArchive
from staff.web import require_role, setup_room_templates, template_context

TEMPLATES = Path(__file__).parent / "templates"
ARCHIVE = web.AppKey("alerts_archive", object)
ALERTS_JINJA = web.AppKey("alerts_jinja", jinja2.Environment)
ROLES = ("admin", "supervisor")
SHOWN = 50
STATUS_JA = {"exercise": "訓練", "test": "試験", "actual": "通常"}
JST = dt.timezone(dt.timedelta(hours=9))


def _jst(value: str | None) -> str:
    """ISO 8601 from the telegram → 「2026-07-01 11:30」 in JST (unparseable values shown as they are)."""
    if not value:
        return "不明"
    try:
        return dt.datetime.fromisoformat(value).astimezone(JST).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(value)


def create_app(archive: TelegramArchive) -> web.Application:
    app = web.Application()
    app[ARCHIVE] = archive
    setup_room_templates(app, TEMPLATES, ALERTS_JINJA, jst=_jst, status_ja=lambda s: STATUS_JA.get(s, s))
    app.router.add_get("/", archive_page, name="alerts_archive")
    return app


@require_role(*ROLES)
async def archive_page(request: web.Request) -> web.Response:
    archive: TelegramArchive = request.config_dict[ARCHIVE]
    ctx = {
        **template_context(request),
        "drills": await archive.recent("drill", SHOWN),
        "rejected": await archive.recent("rejected", SHOWN),
    }
    return aiohttp_jinja2.render_template("alerts_archive.html", request, ctx, app_key=ALERTS_JINJA)
