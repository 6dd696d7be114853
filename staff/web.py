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
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
import yaml
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from staff import mfa, service, shell
from staff.model import ROLES, Session
from staff.service import LoginPolicy, LoginThrottled, StaffError
from staff.store import StaffStore

TEMPLATES_DIR = Path(__file__).parent / "templates"
LOGIN_PATH = "/staff/login"
MFA_PATH = "/staff/mfa"
ENROL_PATH = "/staff/mfa/setup"
ACCOUNT_PATH = "/staff/account"
OPENAPI_PATH = "/staff/api/openapi.json"
OPENAPI_FILE = Path(__file__).parent / "openapi" / "staff-api.yaml"
LOGIN_MAX_BODY = 4096  # tenant, username, password, two tokens: a few hundred bytes; 6 MB usernames end here
SESSION_COOKIE = "cb_staff"
LOGIN_CSRF_COOKIE = "cb_login_csrf"
DEVICE_COOKIE = "cb_device"  # a browser that signed in before: its own login gate (staff.service.remember_device)
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
    # reverse proxies whose X-Forwarded-For is believed (addresses or networks); empty = the peer is the client
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._proxy_nets = tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)

    def client_address(self, request: web.Request) -> str:
        """The client's address for the per-address login limit: the peer, or — only when the peer is a trusted proxy —
        the right-most X-Forwarded-For entry that is not itself a trusted proxy (the left ones are client-supplied)."""
        peer = request.remote or ""
        if not self._proxy_nets or not self._trusted(peer):
            return peer
        hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop[:64]
        return peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._proxy_nets)


STAFF_DEPS = web.AppKey("staff_deps", StaffDeps)
ROLES_ALL = ROLES
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
    app.router.add_get(MFA_PATH, mfa_page)
    app.router.add_post(MFA_PATH, mfa_submit)
    app.router.add_get(ENROL_PATH, enrol_page)
    app.router.add_post(ENROL_PATH, enrol_submit)
    app.router.add_get(ACCOUNT_PATH, account_page)
    app.router.add_post(ACCOUNT_PATH + "/password", password_submit)
    app.router.add_get("/admin", admin_index)
    app.router.add_get(OPENAPI_PATH, openapi_description)
    # every app with staff pages gets the shell: same headers, error pages in the layout, slashes normalised
    app.middlewares.append(shell.middleware(shell.render_in_layout("error.html", STAFF_JINJA, _error_context)))


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


async def read_form(request: web.Request) -> Mapping[str, Any]:
    """``request.post()``, but a body that is not a readable form (not UTF-8, a broken multipart) is a 400, not a 500.
    aiohttp caches the result, so handlers calling ``request.post()`` afterwards get the same form."""
    try:
        return await request.post()
    except (ValueError, LookupError, AssertionError, HttpProcessingError) as exc:  # decode errors, unknown charset, bad parts
        raise web.HTTPBadRequest(text="the form could not be read") from exc


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
            if session is not None and session.stage:  # password given, second factor not yet: not signed in
                if _wants_html(request):
                    raise web.HTTPSeeOther(MFA_PATH if session.stage == "mfa" else ENROL_PATH)
                raise web.HTTPUnauthorized(text="second factor required")
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
                    form = await read_form(request)
                if not csrf_ok(request, session, form):
                    raise web.HTTPForbidden(text="CSRF token missing or wrong")
            return await handler(request)

        wrapper.staff_roles = tuple(roles)  # type: ignore[attr-defined]  # read by the authorization matrix test
        return wrapper

    return decorate


def template_context(request: web.Request) -> dict[str, Any]:
    """What staff templates of any room need: the session (name, role, tenant) and its CSRF token."""
    session = request.get(SESSION)
    deps = _deps(request)
    tenant = deps.tenants.get(session.tenant) if session else None
    signed_in = session if session is not None and not session.stage else None
    return {
        "staff": signed_in,
        "csrf_token": session.csrf if session else "",
        "tenant_name": getattr(tenant, "display_name", session.tenant if session else ""),
        "nav": shell.nav_for(signed_in.role if signed_in else None),
        "current_path": request.path,
    }


async def _error_context(request: web.Request) -> dict[str, Any]:
    if STAFF_DEPS in request.config_dict:
        await current_session(request, touch=False)
    return template_context(request) if STAFF_DEPS in request.config_dict else {"staff": None, "nav": [], "csrf_token": ""}


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


def _session_cookie(resp: web.StreamResponse, deps: StaffDeps, session: Session) -> None:
    resp.set_cookie(SESSION_COOKIE, f"{session.tenant}.{session.id}", httponly=True, secure=deps.cookie_secure, samesite="Strict", path="/")


async def _device_cookie(resp: web.StreamResponse, deps: StaffDeps, session: Session) -> None:
    token = await service.remember_device(deps.store, session)
    resp.set_cookie(
        DEVICE_COOKIE, token, httponly=True, secure=deps.cookie_secure, samesite="Strict", path=LOGIN_PATH,
        max_age=service.DEVICE_SECONDS,
    )


async def _small_form(request: web.Request, limit: int = LOGIN_MAX_BODY) -> Mapping[str, Any] | None:
    """The form of a pre-login POST, or None when it is larger than ``limit`` (checked before reading it)."""
    if request.content_length is None or request.content_length > limit:
        return None
    return await read_form(request)


def _throttled_text(exc: LoginThrottled) -> str:
    wait = max(1, int(exc.retry_after + 0.999))
    when = f"{wait}秒" if wait < 120 else f"{(wait + 59) // 60}分"
    return f"ログインの失敗が続いたため、{when}ほど待ってからお試しください。"


async def login_submit(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    form = await _small_form(request)
    if form is None:
        return _render_login(request, error="送信された内容が大きすぎます。", status=413)
    tenant, username, password = str(form.get("tenant", "")), str(form.get("username", "")).strip(), str(form.get("password", ""))
    shown = username if len(username) <= 40 else ""
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not hmac.compare_digest(cookie_token, str(form.get("csrf_token", ""))):
        return _render_login(request, error="画面の有効期限が切れました。もう一度ログインしてください。", status=403, tenant=tenant, username=shown)
    if tenant not in deps.tenants:
        return _render_login(request, error="自治体を選んでください。", status=400, username=shown)
    try:
        session = await service.login(
            deps.store, deps.policy, tenant, username, password, address=deps.client_address(request),
            device=request.cookies.get(DEVICE_COOKIE, ""),
        )
    except LoginThrottled as exc:
        resp = _render_login(request, error=_throttled_text(exc), status=429, tenant=tenant, username=shown)
        resp.headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
        return resp
    if session is None:
        return _render_login(request, error="ユーザー名またはパスワードが違います。", status=401, tenant=tenant, username=shown)
    target = _safe_next(str(form.get("next", "")), deps.home_path)
    if session.stage:
        session.next = target
        await deps.store.save_session(session, service.PENDING_SECONDS)
        target = MFA_PATH if session.stage == "mfa" else ENROL_PATH
    resp = web.HTTPSeeOther(target)
    _session_cookie(resp, deps, session)
    resp.del_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    if not session.stage:
        await _device_cookie(resp, deps, session)
    raise resp


async def _pending(request: web.Request, stage: str) -> Session:
    session = await current_session(request, touch=False)
    if session is None:
        raise web.HTTPSeeOther(LOGIN_PATH)
    if session.stage != stage and not (stage == "enrol" and session.stage == ""):
        raise web.HTTPSeeOther(_deps(request).home_path if not session.stage else (MFA_PATH if session.stage == "mfa" else ENROL_PATH))
    return session


def _render(request: web.Request, template: str, ctx: dict[str, Any], status: int = 200) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, {**template_context(request), **ctx}, app_key=STAFF_JINJA, status=status)


async def mfa_page(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    await _pending(request, "mfa")
    return _render(request, "mfa.html", {"error": error, "action": MFA_PATH}, status)


async def mfa_submit(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    session = await _pending(request, "mfa")
    form = await _small_form(request)
    if form is None or not csrf_ok(request, session, form):
        return await mfa_page(request, error="画面の有効期限が切れました。もう一度お試しください。", status=403)
    try:
        signed_in = await mfa.complete(deps.store, deps.policy, session, str(form.get("code", ""))[:64])
    except LoginThrottled as exc:
        return await mfa_page(request, error=_throttled_text(exc), status=429)
    if signed_in is None:
        return await mfa_page(request, error="確認コードが違います。", status=401)
    resp = web.HTTPSeeOther(_safe_next(session.next, deps.home_path))
    _session_cookie(resp, deps, signed_in)
    await _device_cookie(resp, deps, signed_in)
    raise resp


async def enrol_page(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    deps = _deps(request)
    session = await mfa.start_enrolment(deps.store, deps.policy, await _pending(request, "enrol"))
    request[SESSION] = session
    account = await deps.store.get_account(session.tenant, session.username)
    tenant = deps.tenants.get(session.tenant)
    uri = mfa.provisioning_uri(session.mfa_secret, account, getattr(tenant, "display_name", session.tenant)) if account else ""
    ctx = {"error": error, "action": ENROL_PATH, "secret": session.mfa_secret, "qr": mfa.qr_data_uri(uri) if uri else "",
           "required": session.stage == "enrol", "enrolled": bool(account and account.totp_secret)}
    return _render(request, "mfa_setup.html", ctx, status)


async def enrol_submit(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    session = await _pending(request, "enrol")
    form = await _small_form(request)
    if form is None or not csrf_ok(request, session, form):
        return await enrol_page(request, error="画面の有効期限が切れました。もう一度お試しください。", status=403)
    try:
        done = await mfa.finish_enrolment(
            deps.store, deps.policy, session, str(form.get("code", ""))[:64], str(form.get("current_code", ""))[:64]
        )
    except LoginThrottled as exc:
        return await enrol_page(request, error=_throttled_text(exc), status=429)
    if done is None:
        return await enrol_page(request, error="確認コードが違います。アプリに表示されている6桁の数字を入力してください。", status=401)
    signed_in, codes = done
    request[SESSION] = signed_in
    resp = _render(request, "mfa_codes.html", {"codes": codes, "next": _safe_next(session.next, deps.home_path)})
    _session_cookie(resp, deps, signed_in)
    await _device_cookie(resp, deps, signed_in)
    return resp


@require_role(*ROLES_ALL)
async def account_page(request: web.Request) -> web.Response:
    return await _account_view(request)


async def _account_view(request: web.Request, *, error: str = "", notice: str = "", status: int = 200) -> web.Response:
    session = request[SESSION]
    account = await _deps(request).store.get_account(session.tenant, session.username)
    ctx = {"error": error, "notice": notice, "mfa_enabled": bool(account and account.totp_secret),
           "recovery_left": len(account.recovery_hashes) if account else 0, "enrol_path": ENROL_PATH}
    return _render(request, "account.html", ctx, status)


@require_role(*ROLES_ALL)
async def password_submit(request: web.Request) -> web.StreamResponse:
    """Change one's own password: the current one is checked; every session of the account ends, this browser gets a
    new one."""
    deps = _deps(request)
    session = request[SESSION]
    form = await _small_form(request)
    if form is None:
        return await _account_view(request, error="送信された内容が大きすぎます。", status=413)
    current, new = str(form.get("current", "")), str(form.get("new", ""))
    if new != str(form.get("again", "")):
        return await _account_view(request, error="新しいパスワードが一致しません。", status=400)
    try:
        ok = await service.login(deps.store, deps.policy, session.tenant, session.username, current, address=deps.client_address(request))
    except LoginThrottled as exc:
        return await _account_view(request, error=_throttled_text(exc), status=429)
    if ok is None:
        return await _account_view(request, error="現在のパスワードが違います。", status=400)
    await deps.store.delete_session(ok.tenant, ok.id)  # only a check of the current password
    try:
        account = await service.set_password(deps.store, session.tenant, session.username, new, hasher=deps.policy.hasher, actor=session.username)
    except StaffError as exc:
        return await _account_view(request, error=f"新しいパスワードを使えません: {exc}", status=400)
    await deps.store.delete_session(session.tenant, session.id)
    fresh = service.new_session(account, deps.policy.clock())
    await deps.store.save_session(fresh, deps.policy.absolute_timeout_seconds)
    request[SESSION] = fresh
    resp = await _account_view(request, notice="パスワードを変更しました。ほかの端末のログインはすべて終了しました。")
    _session_cookie(resp, deps, fresh)
    return resp


async def openapi_description(request: web.Request) -> web.Response:
    """The published description of the staff JSON APIs (no data in it; the operations themselves need a session)."""
    return web.json_response(load_openapi())


@functools.cache
def load_openapi() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))


@require_role(*ROLES_ALL)
async def admin_index(request: web.Request) -> web.Response:
    """``/admin``: the pages this person may use (the same table as the navigation)."""
    return _render(request, "admin_index.html", {})


async def logout_submit(request: web.Request) -> web.StreamResponse:
    deps = _deps(request)
    session = await current_session(request, touch=False)
    if session is not None:
        form = await read_form(request)
        if not csrf_ok(request, session, form):
            raise web.HTTPForbidden(text="CSRF token missing or wrong")
        await service.logout(deps.store, session)
    resp = web.HTTPSeeOther(f"{LOGIN_PATH}?tenant={session.tenant if session else ''}")
    resp.del_cookie(SESSION_COOKIE, path="/")
    raise resp


@require_role("admin", "supervisor")
async def audit_page(request: web.Request) -> web.Response:
    session = request[SESSION]
    entries = await _deps(request).store.audit_log(session.tenant, limit=min(int(request.query["limit"]), 1000) if request.query.get("limit", "").isdigit() else 200)
    await service.audit(_deps(request).store, session, "audit.view")
    return aiohttp_jinja2.render_template("audit.html", request, {**template_context(request), "entries": entries}, app_key=STAFF_JINJA)
