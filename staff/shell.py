"""The staff web shell: one set of security headers, one layout with role-aware navigation, error pages in that layout,
and trailing slashes normalised — for every staff page of every room (login, errors, admin rooms, console).

Wiring (composition root): ``web.Application(middlewares=[..., staff.shell.middleware()])`` and ``staff.web.setup``.
``NAV`` is the one table of staff pages and who may open them; the layout shows each person only theirs, and the
authorization test checks it against the routes' ``require_role``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web

log = logging.getLogger("civicbot.staff")

STAFF_PREFIXES = ("/staff", "/admin", "/console")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
STAFF_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# public pages (dashboard, open data, health) keep their own caching; they still get these unless they set their own
PUBLIC_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str  # short, for the navigation bar
    roles: tuple[str, ...]
    title: str = ""  # longer, for the /admin menu


NAV: tuple[NavItem, ...] = (
    NavItem("/console", "相談コンソール", ("counsellor", "supervisor")),
    NavItem("/admin/faq/", "FAQ", ("editor", "admin", "viewer"), "よくある質問（FAQ）の編集"),
    NavItem("/admin/garbage/", "ごみ", ("editor", "admin", "viewer"), "ごみ分別・収集日の編集"),
    NavItem("/admin/broadcasts/", "配信", ("editor", "admin", "supervisor", "viewer"), "配信の作成・予約"),
    NavItem("/admin/alerts/", "気象庁電文", ("admin", "supervisor"), "気象庁の訓練・受信できなかった電文"),
    NavItem("/admin/notices/", "防犯情報", ("admin", "supervisor"), "防犯・不審者情報の確認"),
    NavItem("/admin/crisis-review/", "危険の確認", ("admin", "supervisor"), "危険の見逃し・誤報の確認"),
    NavItem("/admin/disaster/", "災害時モード", ("counsellor", "supervisor", "admin", "editor", "viewer"), "災害時モード・避難所の開設状況"),
    NavItem("/admin/reports/", "通報", ("admin", "supervisor", "editor", "viewer"), "住民からの通報（道路・街灯・公園など）"),
    NavItem("/staff/audit", "監査ログ", ("admin", "supervisor")),
    NavItem("/staff/account", "アカウント", ("counsellor", "supervisor", "admin", "editor", "viewer"), "アカウント（パスワード・2段階認証）"),
)


def nav_for(role: str | None) -> list[NavItem]:
    return [item for item in NAV if role in item.roles] if role else []


def is_staff_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in STAFF_PREFIXES)


ERROR_TEXT = {
    400: ("入力に誤りがあります", "送られた内容を確認して、もう一度お試しください。"),
    401: ("ログインが必要です", "このページを見るには職員ログインが必要です。"),
    403: ("このページは使えません", "あなたの役割ではこのページを使えません。必要な場合は管理者に相談してください。"),
    404: ("ページが見つかりません", "アドレスを確認してください。"),
    405: ("この操作はできません", "ページを開き直してください。"),
    413: ("送信された内容が大きすぎます", "内容を減らしてお試しください。"),
    429: ("しばらくお待ちください", "操作が続いたため、少し時間をおいてからお試しください。"),
    500: ("エラーが発生しました", "時間をおいてもう一度お試しください。続く場合は管理者に連絡してください。"),
}

ErrorRenderer = Callable[[web.Request, int], Awaitable[web.StreamResponse]]


def _wants_html(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def _apply(resp: web.StreamResponse, headers: dict[str, str], *, force: bool) -> None:
    if resp.prepared:  # WebSockets, streamed files: headers are already out
        return
    for name, value in headers.items():
        if force or name not in resp.headers:
            resp.headers[name] = value


async def _slash_twin(request: web.Request) -> str | None:
    """The same path with its trailing slash added or removed, when that one exists (``/admin/broadcasts`` → ``/``)."""
    path = request.path
    twin = path[:-1] if path.endswith("/") and len(path) > 1 else path + "/"
    clone = request.clone(rel_url=request.rel_url.with_path(twin))
    match = await request.app.router.resolve(clone)
    if match.http_exception is not None:
        return None
    return str(request.rel_url.with_path(twin).with_query(request.rel_url.query))


def middleware(render_error: ErrorRenderer | None = None) -> Callable:
    """Security headers on every response; for staff paths also error pages in the layout and slash normalisation."""

    @web.middleware
    async def shell(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if request.path.startswith("/callback/"):  # the webhook's hot path: JSON for LINE, nothing to add
            return await handler(request)
        staff = is_staff_path(request.path)
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            if exc.status == 404 and request.method in ("GET", "HEAD") and (twin := await _slash_twin(request)):
                raise web.HTTPPermanentRedirect(twin, headers=STAFF_HEADERS if staff else PUBLIC_HEADERS) from None
            if staff and exc.status >= 400 and _wants_html(request) and exc.status in ERROR_TEXT:
                resp = await (render_error or plain_error_page)(request, exc.status)
                for name in ("Retry-After", "Allow"):
                    if name in exc.headers:
                        resp.headers[name] = exc.headers[name]
            else:
                _apply(exc, STAFF_HEADERS if staff else PUBLIC_HEADERS, force=staff)
                raise
        except Exception:
            if not staff:
                raise
            log.exception("staff page failed", extra={"path": request.path})
            resp = await (render_error or plain_error_page)(request, 500) if _wants_html(request) else web.json_response(
                {"error": "internal error"}, status=500)
        _apply(resp, STAFF_HEADERS if staff else PUBLIC_HEADERS, force=staff)
        return resp

    return shell


async def plain_error_page(request: web.Request, status: int) -> web.Response:
    title, text = ERROR_TEXT.get(status, ERROR_TEXT[500])
    return web.Response(text=f"{title}\n{text}\n", status=status, content_type="text/plain")


def render_in_layout(template: str, app_key: web.AppKey, context: Callable[[web.Request], Awaitable[dict]]) -> ErrorRenderer:
    async def render(request: web.Request, status: int) -> web.StreamResponse:
        title, text = ERROR_TEXT.get(status, ERROR_TEXT[500])
        ctx = {**await context(request), "status": status, "title": title, "text": text}
        return aiohttp_jinja2.render_template(template, request, ctx, app_key=app_key, status=status)

    return render


