"""Staff page ``/admin/disaster`` (mode, two-person switch, shelter open status) and the public open-shelter list.

Mounted by the composition root: ``app.add_subapp("/admin/disaster", disaster.web.create_app())`` then
``disaster.web.bind(subapp, deps)`` once Redis is open. Login, roles, CSRF and the audit log come from ``staff``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from disaster import service
from disaster.model import HAZARDS, STATUSES
from disaster.service import APPROVE_ROLES, REQUEST_ROLES, STATUS_ROLES, DisasterDeps, DisasterError
from disaster.texts import ATTRIBUTION, t
from staff.web import SESSION, require_role, setup_room_templates, template_context

TEMPLATES = Path(__file__).parent / "templates"
DEPS = web.AppKey("disaster_deps", DisasterDeps)
JINJA = web.AppKey("disaster_jinja", jinja2.Environment)
VIEW_ROLES = tuple(dict.fromkeys((*STATUS_ROLES, *REQUEST_ROLES, "viewer")))


def _jst(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M") if ts else "—"


def create_app(deps: DisasterDeps | None = None) -> web.Application:
    app = web.Application()
    if deps is not None:
        app[DEPS] = deps
    setup_room_templates(app, TEMPLATES, JINJA, jst=_jst, hz=lambda h: t(f"hz.{h}", "ja"), st=lambda s: t(f"st.{s}", "ja"))
    app.router.add_get("/", page, name="disaster_page")
    app.router.add_post("/request", request_switch)
    app.router.add_post("/approve", approve)
    app.router.add_post("/cancel", cancel)
    app.router.add_post("/shelters/{shelter_id}/status", set_status)
    return app


def bind(app: web.Application, deps: DisasterDeps) -> None:
    app[DEPS] = deps


def _deps(request: web.Request) -> DisasterDeps:
    return request.config_dict[DEPS]


async def _render(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    deps, session = _deps(request), request[SESSION]
    tenant = session.tenant
    state = await deps.store.state(tenant)
    index = await service.shelter_index(deps, tenant)
    statuses = await deps.shelters.statuses(tenant)
    rows = sorted(index.shelters, key=lambda s: (s.municipality, s.id))
    ctx = {
        **template_context(request),
        "state": state,
        "pending": await deps.store.request(tenant),
        "hazards": HAZARDS,
        "statuses": STATUSES,
        "rows": rows,
        "status_of": statuses,
        "attribution": ATTRIBUTION,
        "caution": t("caution", "ja"),
        "can_request": session.role in REQUEST_ROLES,
        "can_approve": session.role in APPROVE_ROLES,
        "can_status": session.role in STATUS_ROLES,
        "error": error,
    }
    response = aiohttp_jinja2.render_template("disaster_admin.html", request, ctx, app_key=JINJA)
    response.set_status(status)
    return response


@require_role(*VIEW_ROLES)
async def page(request: web.Request) -> web.Response:
    return await _render(request)


def _back(request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(str(request.app.router["disaster_page"].url_for()))


@require_role(*REQUEST_ROLES)
async def request_switch(request: web.Request) -> web.StreamResponse:
    session, form = request[SESSION], await request.post()
    mode = str(form.get("mode", ""))
    hazards = tuple(str(h) for h in form.getall("hazard", []))
    try:
        await service.request_switch(
            _deps(request), session.tenant, mode, hazards, session.username, session.role, str(form.get("reason", ""))
        )
    except DisasterError as exc:
        return await _render(request, error=str(exc), status=400)
    raise _back(request)


@require_role(*APPROVE_ROLES)
async def approve(request: web.Request) -> web.StreamResponse:
    session, form = request[SESSION], await request.post()
    try:
        await service.approve_switch(
            _deps(request), session.tenant, str(form.get("request_id", "")), session.username, session.role
        )
    except DisasterError as exc:
        return await _render(request, error=str(exc), status=400)
    raise _back(request)


@require_role(*REQUEST_ROLES)
async def cancel(request: web.Request) -> web.StreamResponse:
    session, form = request[SESSION], await request.post()
    await service.cancel_request(_deps(request), session.tenant, str(form.get("request_id", "")), session.username)
    raise _back(request)


@require_role(*STATUS_ROLES)
async def set_status(request: web.Request) -> web.StreamResponse:
    session, form = request[SESSION], await request.post()
    try:
        await service.set_shelter_status(
            _deps(request), session.tenant, request.match_info["shelter_id"], str(form.get("status", "")), session.username
        )
    except DisasterError as exc:
        return await _render(request, error=str(exc), status=400)
    raise _back(request)


# ------------------------------------------------------------------------------------------- public (dashboard)


def public_routes(deps_of) -> list[web.RouteDef]:
    """``GET /dashboard/shelters/{tenant}``: open shelters while the tenant is in disaster mode (JSON, no login).
    ``deps_of(request)`` returns the DisasterDeps (bound at startup)."""

    async def open_list(request: web.Request) -> web.Response:
        deps: DisasterDeps = deps_of(request)
        tenant = request.match_info["tenant"]
        if tenant not in deps.tenants:
            raise web.HTTPNotFound(text="unknown tenant")
        state = await deps.store.state(tenant)
        rows = await service.open_shelters(deps, tenant) if state.mode == "disaster" else []
        return web.json_response(
            {
                "tenant": tenant,
                "mode": state.mode,
                "hazards": list(state.hazards),
                "open": [
                    {
                        "id": s.id,
                        "name": s.name,
                        "address": s.address,
                        "lat": s.lat,
                        "lng": s.lng,
                        "status": st.status,
                        "status_ja": t(f"st.{st.status}", "ja"),
                        "at": st.at,
                    }
                    for s, st in rows
                ],
                "attribution": ATTRIBUTION,
                "caution": t("caution", "ja"),
            },
            headers={"Cache-Control": "no-store"},
        )

    return [web.get("/dashboard/shelters/{tenant}", open_list)]


def mode_probe(deps: DisasterDeps):
    """``/readyz`` check ``disaster``: always ready; the detail names each tenant's mode, hazards and whether LINE
    shows the matching menu (e.g. ``demo: disaster (tsunami, since 2026-07-03 08:01, menu applied); suita: normal``)."""

    async def probe() -> tuple[bool, str]:
        parts = []
        for tenant, state in (await service.mode_summary(deps)).items():
            if state.mode == "disaster":
                applied = "menu applied" if state.applied == state.mode else "menu pending"
                parts.append(f"{tenant}: disaster ({','.join(state.hazards) or '-'}, since {_jst(state.since)}, {applied})")
            else:
                parts.append(f"{tenant}: normal")
        return True, "; ".join(parts)

    return probe


def dashboard_shelters(deps: DisasterDeps):
    """The public dashboard's port: during disaster mode, the shelters staff marked 開設/混雑 (else None)."""

    async def open_for(tenant: str) -> dict | None:
        if tenant not in deps.tenants or (await deps.store.state(tenant)).mode != "disaster":
            return None
        rows = [
            {"name": s.name, "address": s.address, "status_ja": t(f"st.{st.status}", "ja"), "at": _jst(st.at)}
            for s, st in await service.open_shelters(deps, tenant)
        ]
        return {"rows": rows, "attribution": ATTRIBUTION, "caution": t("caution", "ja")}

    return open_for
