"""Staff login/logout pages and ``require_role``: the one gate every staff page of every room goes through.

Wiring (composition root): ``staff.web.setup(app, StaffDeps(store=..., tenants=..., policy=LoginPolicy()))``, then in
any room::

    @require_role("counsellor", "supervisor")
    async def handler(request): session = request[SESSION]; ...

``require_role`` guarantees: a live session (idle logout), an allowed role, the session's tenant equals any
``{tenant}`` in the URL (otherwise 403), and a valid CSRF token on every unsafe method (form field ``csrf_token`` or
header ``X-CSRF-Token``). Requests a page makes on its own (live refresh) send ``X-Background: 1`` so they do not
postpone the idle logout. Handlers must load data with ``request[SESSION].tenant``, never a tenant from the request.
The webhook shares the app, so CSRF is enforced by this decorator, not by an app-wide middleware.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from staff import service
from staff.model import Session
from staff.service import LoginPolicy, LoginThrottled
from staff.store import StaffStore

TEMPLATES_DIR = Path(__file__).parent / "templates"
LOGIN_PATH = "/staff/login"
SESSION_COOKIE = "cb_staff"
LOGIN_CSRF_COOKIE = "cb_login_csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BACKGROUND_HEADER = "X-Background"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class StaffDeps:
    store: StaffStore
    tenants: Mapping[str, Any]  # tenant id -> object with ``display_name`` (bot.config.Tenant)
    policy: LoginPolicy = field(default_factory=LoginPolicy)
    cookie_secure: bool = True  # browsers keep Secure cookies on http://127.0.0.1 too; False only for odd test clients
    home_path: str = "/console"  # where a login without ``next`` lands
    allowed_origins: tuple[str, ...] = ()  # extra Origins for WebSockets behind a proxy (public_base_url)


STAFF_DEPS = web.AppKey("staff_deps", StaffDeps)
STAFF_JINJA = web.AppKey("staff_jinja", jinja2.Environment)
SESSION = web.RequestKey("staff_session", Session)


def setup_room_templates(app: web.Application, templates_dir: Path, app_key: web.AppKey, **filters: Callable) -> None:
    """Jinja for a room's staff pages: the room's templates first, then staff's (``staff_base.html``), autoescaped."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(templates_dir), jinja2.FileSystemLoader(TEMPLATES_DIR)]),
        app_key=app_key,
        autoescape=True,
        filters=filters,
    )


def setup(app: web.Application, deps: StaffDeps | None = None) -> None:
    """Register the pages. ``deps`` may come later through ``bind`` (e.g. from a cleanup_ctx that opens Redis)."""
    if deps is not None:
        bind(app, deps)
    aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(TEMPLATES_DIR), app_key=STAFF_JINJA, autoescape=True, filters={"jst": format_ts}
    )
    app.router.add_get(LOGIN_PATH, login_page)
    app.router.add_post(LOGIN_PATH, login_submit)
    app.router.add_post("/staff/logout", logout_submit)
    app.router.add_get("/staff/audit", audit_page)


def bind(app: web.Application, deps: StaffDeps) -> None:
    """Attach the store/tenants/policy; handlers look them up per request."""
    app[STAFF_DEPS] = deps


def format_ts(ts: float, tz: str = "Asia/Tokyo") -> str:
    """Jinja filter ``jst``: epoch seconds → 「2026-11-25 09:30:00」 in Japan time (staff read local times)."""
    return dt.datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def _deps(request: web.Request) -> StaffDeps:
    return request.config_dict[STAFF_DEPS]


def _wants_html(request: web.Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "") and "/api/" not in request.path


async def current_session(request: web.Request, *, touch: bool = True) -> Session | None:
    """The staff session of this request or None. Cached on the request."""
    if SESSION in request:
        return request[SESSION]
    raw = request.cookies.get(SESSION_COOKIE, "")
    tenant, _, sid = raw.partition(".")
    deps = _deps(request)
    if not tenant or not sid or tenant not in deps.tenants:
        return None
    session = await service.resolve_session(deps.store, deps.policy, tenant, sid, touch=touch)
    if session is not None:
        request[SESSION] = session
    return session


def csrf_ok(request: web.Request, session: Session, form: Mapping[str, Any] | None = None) -> bool:
    token = request.headers.get("X-CSRF-Token") or (form or {}).get("csrf_token") or ""
    return bool(token) and hmac.compare_digest(str(token), session.csrf)


def origin_ok(request: web.Request) -> bool:
    """WebSocket origin check: browsers always send Origin on WebSocket handshakes; it must be this site."""
    origin = request.headers.get("Origin")
    if not origin:
        return False
    allowed = {f"{request.scheme}://{request.host}", *_deps(request).allowed_origins}
    return origin.rstrip("/") in allowed


def require_role(*roles: str) -> Callable[[Handler], Handler]:
    if not roles:
        raise ValueError("require_role needs at least one role")

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            # automatic requests (live refreshes) say so, and do not count as activity for the idle logout
            session = await current_session(request, touch=request.headers.get(BACKGROUND_HEADER) != "1")
            if session is None:
                if _wants_html(request):
                    raise web.HTTPSeeOther(f"{LOGIN_PATH}?next={quote(request.path_qs, safe='')}")
                raise web.HTTPUnauthorized(text="login required")
            url_tenant = request.match_info.get("tenant")
            if url_tenant is not None and url_tenant != session.tenant:
                raise web.HTTPForbidden(text="other tenant")
            if session.role not in roles:
                raise web.HTTPForbidden(text="role not allowed")
            if request.method in UNSAFE:
                form = None
                if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                    form = await request.post()
                if not csrf_ok(request, session, form):
                    raise web.HTTPForbidden(text="CSRF token missing or wrong")
            return await handler(request)

        return wrapper

    return decorate


def template_context(request: web.Request) -> dict[str, Any]:
    """What staff templates of any room need: the session (name, role, tenant) and its CSRF token."""
    session = request.get(SESSION)
    deps = _deps(request)
    tenant = deps.tenants.get(session.tenant) if session else None
    return {
        "staff": session,
        "csrf_token": session.csrf if session else "",
        "tenant_name": getattr(tenant, "display_name", session.tenant if session else ""),
    }


def _safe_next(value: str | None, default: str) -> str:
    # only same-site relative paths: "//evil" or "https://evil" would be an open redirect
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else default


def _render_login(request: web.Request, *, error: str = "", status: int = 200, tenant: str = "", username: str = "") -> web.Response:
    deps = _deps(request)
    token = secrets.token_urlsafe(24)
    resp = aiohttp_jinja2.render_template(
        "login.html",
        request,
        {
            "tenants": sorted(((tid, getattr(t, "display_name", tid)) for tid, t in deps.tenants.items()), key=lambda x: x[0]),
            "selected": tenant or request.query.get("tenant", ""),
            "username": username,
            "next": _safe_next(request.query.get("next"), deps.home_path),
            "login_csrf": token,
            "error": error,
            "action": LOGIN_PATH,
        },
        app_key=STAFF_JINJA,
        status=status,
    )
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, secure=deps.cookie_secure, samesite="Strict", path=LOGIN_PATH)
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def login_page(request: web.Request) -> web.Response:
    return _render_login(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    form = await request.post()
    tenant, username, password = str(form.get("tenant", "")), str(form.get("username", "")).strip(), str(form.get("password", ""))
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not hmac.compare_digest(cookie_token, str(form.get("csrf_token", ""))):
        return _render_login(request, error="画面の有効期限が切れました。もう一度ログインしてください。", status=403, tenant=tenant, username=username)
    if tenant not in deps.tenants:
        return _render_login(request, error="自治体を選んでください。", status=400, username=username)
    try:
        session = await service.login(deps.store, deps.policy, tenant, username, password, address=request.remote or "")
    except LoginThrottled:
        return _render_login(
            request, error="ログインの失敗が続いたため、しばらくログインできません。15分ほどしてからお試しください。", status=429, tenant=tenant, username=username
        )
    if session is None:
        return _render_login(request, error="ユーザー名またはパスワードが違います。", status=401, tenant=tenant, username=username)
    target = _safe_next(str(form.get("next", "")), deps.home_path)
    resp = web.HTTPSeeOther(target)
    resp.set_cookie(SESSION_COOKIE, f"{session.tenant}.{session.id}", httponly=True, secure=deps.cookie_secure, samesite="Strict", path="/")
    resp.del_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    raise resp


async def logout_submit(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    session = await current_session(request, touch=False)
    if session is not None:
        form = await request.post()
        if not csrf_ok(request, session, form):
            raise web.HTTPForbidden(text="CSRF token missing or wrong")
        await service.logout(deps.store, session)
    resp = web.HTTPSeeOther(f"{LOGIN_PATH}?tenant={session.tenant if session else ''}")
    resp.del_cookie(SESSION_COOKIE, path="/")
    raise resp


@require_role("admin", "supervisor")
async def audit_page(request: web.Request) -> web.Response:
    session = request[SESSION]
    entries = await _deps(request).store.audit_log(session.tenant, limit=int(request.query.get("limit", "200")) if request.query.get("limit", "").isdigit() else 200)
    await service.audit(_deps(request).store, session, "audit.view")
    return aiohttp_jinja2.render_template("audit.html", request, {**template_context(request), "entries": entries}, app_key=STAFF_JINJA)
