"""Staff page for police notices: the review list (unparseable / unplaced notices) with manual placement + send,
dismissal, and the recent incidents. Mounted by the composition root as a sub-app::

    app.add_subapp("/admin/notices", alerts.notices.web.create_app(notice_deps))

Gate: ``staff.web.require_role("admin", "supervisor")``; data always from the session's tenant. Every placement,
send and dismissal is audited twice: in the notices audit log (``IncidentStore.audit_log``, what the service
records) and in the staff audit log (``/staff/audit``), under the staff member's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from alerts.notices.geocode import town_choices
from alerts.notices.service import NoticeDeps, dismiss, place_and_send
from staff import service as staff_service
from staff.web import SESSION, STAFF_DEPS, format_ts, require_role, setup_room_templates, template_context

TEMPLATES = Path(__file__).parent / "templates"
NOTICES = web.AppKey("notices_deps", NoticeDeps)
NOTICES_JINJA = web.AppKey("notices_jinja", jinja2.Environment)
ROLES = ("admin", "supervisor")


def create_app(deps: NoticeDeps) -> web.Application:
    app = web.Application()
    app[NOTICES] = deps
    setup_room_templates(app, TEMPLATES, NOTICES_JINJA, jst=format_ts)
    app.router.add_get("/", review_page, name="notices_review")
    app.router.add_get("/towns", towns_json)
    app.router.add_post("/review/{item_id}/place", place_submit)
    app.router.add_post("/review/{item_id}/dismiss", dismiss_submit)
    return app


def _deps(request: web.Request) -> NoticeDeps:
    return request.config_dict[NOTICES]


def _base(request: web.Request) -> str:
    return str(request.app.router["notices_review"].url_for()).rstrip("/")


async def _audit(request: web.Request, action: str, target: str, **detail: Any) -> None:
    await staff_service.audit(request.config_dict[STAFF_DEPS].store, request[SESSION], action, target, **detail)


async def _render(request: web.Request, *, status: int = 200, error: str = "", message: str = "") -> web.Response:
    deps = _deps(request)
    tenant = request[SESSION].tenant
    cfg = deps.config(tenant)
    ctx = {
        **template_context(request),
        "items": await deps.store.list_review(tenant),
        "recent": await deps.store.recent(tenant, cfg.nearby_days, now=deps.clock()),
        "days": f"{cfg.nearby_days:g}",
        "municipalities": deps.gazetteer.municipalities(wards=True),
        "base": _base(request),
        "error": error,
        "message": message,
    }
    return aiohttp_jinja2.render_template("notices_review.html", request, ctx, status=status, app_key=NOTICES_JINJA)


@require_role(*ROLES)
async def review_page(request: web.Request) -> web.Response:
    return await _render(request, message=request.query.get("done", "")[:100])


@require_role(*ROLES)
async def towns_json(request: web.Request) -> web.Response:
    """Towns of a municipality matching ``q`` (for the placement list)."""
    deps = _deps(request)
    return web.json_response(town_choices(deps.gazetteer, request.query.get("code", ""), request.query.get("q", "")))


@require_role(*ROLES)
async def place_submit(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    session = request[SESSION]
    form = await request.post()
    item_id = request.match_info["item_id"]
    code, town = str(form.get("code", "")).strip(), str(form.get("town", "")).strip()
    try:
        out = await place_and_send(session.tenant, item_id, code=code, town=town, actor=session.username, deps=deps)
    except LookupError:
        raise web.HTTPNotFound(text="no such review item") from None
    except ValueError as exc:
        return await _render(request, status=400, error=str(exc))
    await _audit(request, "notices.place_send", item_id, code=out.incident.municipality_code, town=out.incident.town, job=out.job_id)
    raise web.HTTPSeeOther(f"{_base(request)}/?done=配信しました")


@require_role(*ROLES)
async def dismiss_submit(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    session = request[SESSION]
    form = await request.post()
    item_id = request.match_info["item_id"]
    reason = str(form.get("reason", "")).strip()[:200]
    if not reason:
        return await _render(request, status=400, error="理由を入力してください。")
    if not await dismiss(session.tenant, item_id, actor=session.username, reason=reason, deps=deps):
        raise web.HTTPNotFound(text="no such review item")
    await _audit(request, "notices.dismiss", item_id, reason=reason)
    raise web.HTTPSeeOther(f"{_base(request)}/?done=閉じました")
