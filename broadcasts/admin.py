"""Staff broadcast composer in /admin: an aiohttp sub-app (mount it with ``app.add_subapp("/admin/broadcasts", …)``).

Login, roles, CSRF and the audit log come from ``staff/`` (the parent app must have run ``staff.web.setup``).
Editors compose; a broadcast to everyone needs a supervisor's or admin's approval (not the author's); everybody
who may see the page sees jobs' progress and quota warnings. Every action is audited.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from broadcasts import composer
from broadcasts.audience import AudienceQuery, AudienceSource
from broadcasts.composer import ComposerChoices, ComposerError, DraftStore
from broadcasts.engine import RedisDeliverer
from broadcasts.store import tenant_of
from staff import audit
from staff.store import StaffStore
from staff.web import SESSION, format_ts, require_role, setup_room_templates, template_context

HERE = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
COMPOSE_ROLES = ("editor", "admin", "supervisor")
APPROVE_ROLES = ("admin", "supervisor")
VIEW_ROLES = ("editor", "admin", "supervisor", "viewer")


@dataclass
class ComposerDeps:
    drafts: DraftStore
    deliverer: RedisDeliverer
    audience: AudienceSource
    staff_store: StaffStore
    choices: ComposerChoices = field(default_factory=ComposerChoices)
    timezone: str = "Asia/Tokyo"


COMPOSER = web.AppKey("broadcast_composer", ComposerDeps)
JINJA = web.AppKey("broadcast_jinja", jinja2.Environment)


def create_admin_app(deps: ComposerDeps | None = None) -> web.Application:
    """The sub-app; ``deps`` may be set later with ``bind(subapp, deps)`` (e.g. from the parent's cleanup_ctx)."""
    app = web.Application()
    if deps is not None:
        app[COMPOSER] = deps
    setup_room_templates(app, HERE, JINJA, jst=format_ts)
    app.router.add_get("/", page, name="page")
    app.router.add_post("/preview", preview)
    app.router.add_post("/drafts", create)
    app.router.add_post("/drafts/{draft_id}/approve", approve)
    app.router.add_post("/drafts/{draft_id}/cancel", cancel)
    app.router.add_get("/jobs/{job_id}", job_status)
    app.router.add_static("/static", STATIC)
    return app


def bind(app: web.Application, deps: ComposerDeps) -> None:
    app[COMPOSER] = deps


def _deps(request: web.Request) -> ComposerDeps:
    return request.config_dict[COMPOSER]


def _base(request: web.Request) -> str:
    """Where this sub-app is mounted (e.g. /admin/broadcasts)."""
    return str(request.app.router["page"].url_for()).rstrip("/")


def _form_query(tenant: str, form) -> tuple[AudienceQuery, dict]:
    areas = [a for a in form.getall("area", []) if a] + [a.strip() for a in str(form.get("area_codes", "")).split(",") if a.strip()]
    fields = {
        "area_codes": tuple(dict.fromkeys(areas)),
        "categories": tuple(form.getall("category", [])),
        "languages": tuple(form.getall("language", [])),
        "all_friends": form.get("all_friends") == "1",
    }
    return AudienceQuery(tenant=tenant, **fields), fields


def _send_at(value: str, tz: str) -> float | None:
    if not value:
        return None
    try:
        local = dt.datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(tz))
    except ValueError as exc:
        raise ComposerError("配信日時の形式が正しくありません。") from exc
    return local.timestamp()


@require_role(*VIEW_ROLES)
async def page(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    deps = _deps(request)
    session = request[SESSION]
    drafts = await deps.drafts.recent(session.tenant, 30)
    jobs = await deps.deliverer.list_jobs(session.tenant, 20)
    events = [e for e in await deps.deliverer.events(session.tenant, 50) if e.get("type") in ("quota_warning", "job_held")]
    ctx = {
        **template_context(request),
        "base": _base(request),
        "drafts": drafts,
        "jobs": jobs,
        "events": events[:5],
        "choices": deps.choices,
        "error": error,
        "can_compose": session.role in COMPOSE_ROLES,
        "can_approve": session.role in APPROVE_ROLES,
        "now": time.time(),
    }
    return aiohttp_jinja2.render_template("broadcasts_admin.html", request, ctx, app_key=JINJA, status=status)


@require_role(*COMPOSE_ROLES)
async def preview(request: web.Request) -> web.Response:
    """Audience size for the segment in the form (the page calls this before sending)."""
    session = request[SESSION]
    query, _ = _form_query(session.tenant, await request.post())
    size = await composer.audience_size(_deps(request).audience, query)
    return web.json_response({"size": size, "needs_approval": composer.needs_approval(query.all_friends, query.area_codes)})


@require_role(*COMPOSE_ROLES)
async def create(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    session = request[SESSION]
    form = await request.post()
    _, fields = _form_query(session.tenant, form)
    try:
        draft = await composer.compose(
            deps.drafts,
            deps.deliverer,
            deps.audience,
            tenant=session.tenant,
            by=session.username,
            text=str(form.get("text", "")),
            link_url=str(form.get("link_url", "")),
            image_url=str(form.get("image_url", "")),
            send_at=_send_at(str(form.get("send_at", "")), deps.timezone),
            **fields,
        )
    except ComposerError as exc:
        return await page.__wrapped__(request, error=str(exc), status=400)
    await audit(
        deps.staff_store, session, "broadcast.compose", target=draft.id, state=draft.state, audience=draft.audience_size,
        areas=",".join(draft.area_codes), all_friends=draft.all_friends,
    )
    if draft.state == "sent":
        await audit(deps.staff_store, session, "broadcast.send", target=draft.id, job=draft.job_id)
    raise web.HTTPSeeOther(f"{_base(request)}/")


@require_role(*APPROVE_ROLES)
async def approve(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    session = request[SESSION]
    draft_id = request.match_info["draft_id"]
    try:
        draft = await composer.approve(deps.drafts, deps.deliverer, session.tenant, draft_id, session.username)
    except ComposerError as exc:
        return await page.__wrapped__(request, error=str(exc), status=400)
    await audit(deps.staff_store, session, "broadcast.approve", target=draft.id, state=draft.state, job=draft.job_id)
    raise web.HTTPSeeOther(f"{_base(request)}/")


@require_role(*COMPOSE_ROLES)
async def cancel(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    session = request[SESSION]
    draft_id = request.match_info["draft_id"]
    try:
        draft = await composer.cancel(deps.drafts, session.tenant, draft_id, session.username, deps.deliverer.cancel)
    except ComposerError as exc:
        return await page.__wrapped__(request, error=str(exc), status=400)
    await audit(deps.staff_store, session, "broadcast.cancel", target=draft.id, job=draft.job_id)
    raise web.HTTPSeeOther(f"{_base(request)}/")


@require_role(*VIEW_ROLES)
async def job_status(request: web.Request) -> web.Response:
    session = request[SESSION]
    job_id = request.match_info["job_id"]
    try:
        if tenant_of(job_id) != session.tenant:
            raise web.HTTPNotFound()
    except ValueError:
        raise web.HTTPNotFound() from None
    status = await _deps(request).deliverer.status(job_id)
    if status is None:
        raise web.HTTPNotFound()
    return web.json_response(status.as_dict())


def choices_from(areas: Sequence[tuple[str, str]] = (), categories: Sequence[tuple[str, str]] = ()) -> ComposerChoices:
    return ComposerChoices(areas=list(areas), categories=list(categories))
