"""The counsellor console (``/console``): page, JSON API (every change is a CSRF-checked POST) and a read-only
WebSocket of live events. Requires ``staff.web.setup`` first; wire with ``handoff.web.setup(app, HandoffWebDeps(...))``.

Tenant isolation: every lookup uses the session's tenant, so another tenant's conversation id is simply not found
(404). A counsellor reads only conversations they hold or joined; supervisors read all of their tenant's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp_jinja2
import jinja2
from aiohttp import WSCloseCode, WSMsgType, web

from bot.config import Tenant
from handoff import service
from handoff.line import LinePushError
from handoff.model import RISK_LABELS, Conversation, HandoffPolicy, pseudonym
from handoff.service import HandoffDeps, HandoffError, HandoffForbidden, may_read
from staff import service as staff_service
from staff.model import Session
from staff.web import (
    BACKGROUND_HEADER,
    SESSION,
    STAFF_DEPS,
    STAFF_JINJA,
    current_session,
    origin_ok,
    require_role,
    template_context,
)
from staff.web import TEMPLATES_DIR as STAFF_TEMPLATES

HERE = Path(__file__).parent
CONSOLE_ROLES = ("counsellor", "supervisor")
PRESENCE_SECONDS = 90.0  # an open console counts as "on duty" this long after its last heartbeat
HANDOFF_JINJA = web.AppKey("handoff_jinja", jinja2.Environment)
CONSOLE_SOCKETS = web.AppKey("handoff_console_sockets", set)


class CrisisMarks(Protocol):
    """Where counsellors' "crisis the bot missed" / "not a crisis" marks go (crisisreview.ConsoleMarks). ``mark``
    raises ValueError for a mark it cannot take (unknown category, already decided by a supervisor)."""

    def categories(self) -> list[tuple[str, str]]: ...
    async def mark(
        self, tenant: str, conversation_id: str, message_id: str, text: str, verdict: str, category: str | None,
        marked_by: str, retention_days: int,
    ) -> dict[str, Any]: ...


@dataclass
class HandoffWebDeps:
    handoff: HandoffDeps
    tenants: Mapping[str, Tenant]
    session_check_seconds: float = 30.0  # how often an open WebSocket re-checks the session (idle logout, disabled account)
    crisis_marks: CrisisMarks | None = None  # None: the console offers no crisis marks


HANDOFF_WEB = web.AppKey("handoff_web", HandoffWebDeps)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def setup(app: web.Application, deps: HandoffWebDeps | None = None) -> None:
    """Register the console. ``deps`` may come later through ``bind`` (e.g. from a cleanup_ctx that opens Redis)."""
    if STAFF_JINJA not in app:
        raise RuntimeError("call staff.web.setup(app) before handoff.web.setup")
    if deps is not None:
        bind(app, deps)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(HERE / "templates"), jinja2.FileSystemLoader(STAFF_TEMPLATES)]),
        app_key=HANDOFF_JINJA,
        autoescape=True,
    )
    r = app.router
    r.add_get("/console", console_page)
    r.add_get("/console/ws", console_ws)
    r.add_get("/console/api/state", api_state)
    r.add_get("/console/api/conversations/{cid}", api_conversation)
    r.add_get("/console/api/conversations/{cid}/export", api_export)
    r.add_post("/console/api/conversations/{cid}/{action}", api_action)
    r.add_get("/console/api/crisis-marks", api_crisis_mark_choices)
    r.add_post("/console/api/conversations/{cid}/messages/{mid}/crisis-mark", api_crisis_mark)
    r.add_static("/console/static", HERE / "static")
    app[CONSOLE_SOCKETS] = set()
    app.on_shutdown.append(_close_sockets)


async def _close_sockets(app: web.Application) -> None:
    """On shutdown close the open consoles' sockets ("going away"): otherwise aiohttp waits for them until its
    shutdown timeout and a restart of the web process stalls; the browsers reconnect to the new process."""
    for ws in list(app[CONSOLE_SOCKETS]):
        with contextlib.suppress(Exception):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restart")


def bind(app: web.Application, deps: HandoffWebDeps) -> None:
    app[HANDOFF_WEB] = deps


def _web(request: web.Request) -> HandoffWebDeps:
    return request.config_dict[HANDOFF_WEB]


def _tenant(request: web.Request) -> Tenant:
    return _web(request).tenants[request[SESSION].tenant]


def conv_view(conv: Conversation, policy: HandoffPolicy, now: float, *, detail: bool = False) -> dict[str, Any]:
    """What the console may show: no LINE user id, ever; the display name only when the tenant allows it."""
    view = {
        "id": conv.id,
        "name": conv.display_name if (policy.show_display_name and conv.display_name) else pseudonym(conv.tenant, conv.user_id),
        "category": conv.category,
        "risk": conv.risk,
        "risk_label": RISK_LABELS.get(conv.risk, conv.risk),
        "reason": conv.reason,
        "summary": conv.summary,
        "status": conv.status,
        "holder": conv.holder,
        "supervisors": conv.supervisors,
        "emergency": conv.emergency,
        "created_at": conv.created_at,
        "waited_seconds": int(((conv.taken_at or now) if conv.status != "queued" else now) - conv.created_at),
        "taken_at": conv.taken_at,
        "closed_at": conv.closed_at,
        "labels": conv.labels,
        "closing_category": conv.closing_category,
        "unread": conv.unread,
    }
    if detail and policy.include_crisis_text:
        view["crisis_text"] = conv.crisis_text
    return view


@require_role(*CONSOLE_ROLES)
async def console_page(request: web.Request) -> web.Response:
    resp = aiohttp_jinja2.render_template("console.html", request, template_context(request), app_key=HANDOFF_JINJA)
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@require_role(*CONSOLE_ROLES)
async def api_state(request: web.Request) -> web.Response:
    session: Session = request[SESSION]
    hd = _web(request).handoff
    policy = hd.policy(session.tenant)
    now = hd.clock()
    queue = await hd.store.queue(session.tenant)
    live = await hd.store.live(session.tenant)
    staff_store = request.config_dict[STAFF_DEPS].store
    colleagues = [
        {"username": a.username, "display_name": a.display_name or a.username, "role": a.role}
        for a in await staff_store.list_accounts(session.tenant)
        if a.active and a.role in CONSOLE_ROLES and a.username != session.username
    ]
    body = {
        "me": {"username": session.username, "role": session.role, "display_name": session.display_name},
        "queue": [conv_view(c, policy, now) for c in queue],
        "mine": [conv_view(c, policy, now) for c in live if c.holder == session.username or session.username in c.supervisors],
        "live": [conv_view(c, policy, now) for c in live] if session.role == "supervisor" else [],
        "colleagues": colleagues,
        "canned": [asdict(c) for c in policy.canned],
        "labels": list(policy.labels),
        "categories": list(policy.categories),
        "now": now,
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def _readable(request: web.Request, cid: str) -> Conversation:
    """The conversation if this staff member may read it: 404 if not in their tenant, 403 if not theirs."""
    session: Session = request[SESSION]
    hd = _web(request).handoff
    conv = await hd.store.get(session.tenant, cid)
    if conv is None:
        raise web.HTTPNotFound(text="no such conversation")
    if may_read(conv, session.username, session.role):
        return conv
    # a past consultation of the resident the counsellor currently holds
    current = await hd.store.open_for_user(session.tenant, conv.user_id)
    if current is not None and may_read(current, session.username, session.role):
        return conv
    raise web.HTTPForbidden(text="not your conversation")


@require_role(*CONSOLE_ROLES)
async def api_conversation(request: web.Request) -> web.Response:
    session: Session = request[SESSION]
    hd = _web(request).handoff
    conv = await _readable(request, request.match_info["cid"])
    policy = hd.policy(session.tenant)
    await staff_service.audit(request.config_dict[STAFF_DEPS].store, session, "handoff.view", conv.id)
    # 既読 only when the counsellor opened it; a background refresh (maybe a hidden tab) is not opening it
    if request.headers.get(BACKGROUND_HEADER) != "1" and await service.mark_read(hd, session.tenant, conv.id, session.username):
        conv.unread = 0
    history = [c for c in await hd.store.history(session.tenant, conv.user_id) if c.id != conv.id]
    body = {
        "conversation": conv_view(conv, policy, hd.clock(), detail=True),
        "transcript": [m.to_dict() for m in await hd.store.transcript(session.tenant, conv.id)],
        "notes": [asdict(n) for n in await hd.store.notes(session.tenant, conv.id)],
        "past": [conv_view(c, policy, hd.clock()) for c in history],
        "checklist": [asdict(r) for r in service.referral_checklist(_tenant(request), policy)] if conv.emergency else [],
        "can_write": conv.may_write(session.username),
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


@require_role("supervisor")
async def api_export(request: web.Request) -> web.Response:
    """Case export for official records (supervisors): metadata, transcript and notes, pseudonymous."""
    session: Session = request[SESSION]
    hd = _web(request).handoff
    conv = await _readable(request, request.match_info["cid"])
    await staff_service.audit(request.config_dict[STAFF_DEPS].store, session, "handoff.export", conv.id)
    body = {
        "tenant": session.tenant,
        "exported_at": time.time(),
        "exported_by": session.username,
        "conversation": conv_view(conv, hd.policy(session.tenant), hd.clock(), detail=True),
        "transcript": [m.to_dict() for m in await hd.store.transcript(session.tenant, conv.id)],
        "notes": [asdict(n) for n in await hd.store.notes(session.tenant, conv.id)],
    }
    return web.Response(
        text=json.dumps(body, ensure_ascii=False, indent=2),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="case-{conv.id}.json"', "Cache-Control": "no-store"},
    )


MAX_TEXT = 5000  # LINE's limit for one text message


def _check_body(data: Mapping[str, Any]) -> None:
    """Field types of every action's body; a wrong one is a 400 before any state changes."""
    message = data.get("message")
    if message is not None and (not isinstance(message, str) or not 0 < len(message) <= MAX_TEXT):
        raise web.HTTPBadRequest(text="message: a text of 1-5000 characters")
    for name in ("text", "client_id", "to", "category"):
        if name in data and not isinstance(data[name], str):
            raise web.HTTPBadRequest(text=f"{name}: a text")
    labels = data.get("labels")
    if labels is not None and (not isinstance(labels, list) or not all(isinstance(x, str) for x in labels) or len(labels) > 50):
        raise web.HTTPBadRequest(text="labels: a list of texts")


ACTIONS = {"take", "send", "typing", "read", "note", "emergency", "transfer", "join", "handback", "close"}


@require_role(*CONSOLE_ROLES)
async def api_action(request: web.Request) -> web.Response:
    session: Session = request[SESSION]
    hd = _web(request).handoff
    action, cid = request.match_info["action"], request.match_info["cid"]
    if action not in ACTIONS:
        raise web.HTTPNotFound()
    if await hd.store.get(session.tenant, cid) is None:
        raise web.HTTPNotFound(text="no such conversation")
    try:
        data = await request.json() if request.content_type == "application/json" else dict(await request.post())
    except (ValueError, json.JSONDecodeError):
        raise web.HTTPBadRequest(text="bad body") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="bad body")
    _check_body(data)  # before anything changes: a bad field must not leave a half-done hand-back behind
    t, me, role = session.tenant, session.username, session.role
    result: dict[str, Any] = {"ok": True}
    try:
        if action == "take":
            await service.take_over(hd, t, cid, me)
        elif action == "send":
            msg = await service.send_message(hd, t, cid, me, str(data.get("text", "")), str(data.get("client_id", "")))
            result["message"] = msg.to_dict()
        elif action == "typing":
            result["sent"] = await service.typing(hd, t, cid, me)
        elif action == "read":
            result["marked"] = await service.mark_read(hd, t, cid, me)
        elif action == "note":
            note = await service.add_note(hd, t, cid, me, role, str(data.get("text", "")))
            result["note"] = asdict(note)
        elif action == "emergency":
            checklist = await service.set_emergency(hd, _tenant(request), cid, me)
            result["checklist"] = [asdict(r) for r in checklist]
        elif action == "transfer":
            to = str(data.get("to", ""))
            target = await request.config_dict[STAFF_DEPS].store.get_account(t, to)
            if target is None or not target.active or target.role not in CONSOLE_ROLES:
                raise HandoffError("no such counsellor")
            await service.transfer(hd, t, cid, me, to)
        elif action == "join":
            if role != "supervisor":
                raise HandoffForbidden("supervisors only")
            await service.join(hd, t, cid, me)
        elif action == "handback":
            await service.hand_back(hd, t, cid, me, role, data.get("message"))
        elif action == "close":
            labels = data.get("labels") or []
            if not isinstance(labels, list):
                raise HandoffError("labels must be a list")
            await service.close(hd, t, cid, me, role, labels=[str(x) for x in labels], category=str(data.get("category", "")), message=data.get("message"))
    except HandoffForbidden as exc:
        raise web.HTTPForbidden(text=str(exc)) from None
    except HandoffError as exc:
        return web.json_response({"ok": False, "error": str(exc)}, status=409)
    except LinePushError:
        return web.json_response({"ok": False, "error": "LINEに送れませんでした。もう一度送ってください。"}, status=502)
    if action not in ("typing", "read"):
        await staff_service.audit(request.config_dict[STAFF_DEPS].store, session, f"handoff.{action}", cid)
    return web.json_response(result)


async def _visible(hd: HandoffDeps, session: Session, event: dict[str, Any]) -> dict[str, Any] | None:
    """Filter a bus event for one console: message bodies only to those who may read the conversation."""
    kind = event.get("type")
    if kind == "message":
        conv = await hd.store.get(session.tenant, str(event.get("cid")))
        if conv is None:
            return None
        if not may_read(conv, session.username, session.role):
            # a waiting resident wrote again: every console's queue (unread count) must refresh, without the body
            return {"type": "queue", "cid": conv.id} if conv.status == "queued" else None
        return event
    if kind in ("queue", "conversation", "emergency"):
        return {k: event[k] for k in ("type", "cid", "by", "status") if k in event}
    return None


@require_role(*CONSOLE_ROLES)
async def console_ws(request: web.Request) -> web.StreamResponse:
    session: Session = request[SESSION]
    if not origin_ok(request) or not hmac.compare_digest(request.query.get("csrf", ""), session.csrf):
        raise web.HTTPForbidden(text="origin or token not accepted")
    wd = _web(request)
    ws = web.WebSocketResponse(heartbeat=25.0)
    await ws.prepare(request)
    store, clock = wd.handoff.store, wd.handoff.clock
    await store.set_presence(session.tenant, session.username, clock() + PRESENCE_SECONDS)
    async with wd.handoff.bus.subscribe(session.tenant) as events:
        await ws.send_json({"type": "hello"})

        async def forward() -> None:
            try:
                async for event in events:
                    visible = await _visible(wd.handoff, session, event)
                    if visible is not None:
                        await ws.send_json(visible)
            finally:
                # the bus broke (Redis restart): close, so the browser reconnects and reloads state from the store
                if not ws.closed:
                    await ws.close(code=1011)

        async def watchdog() -> None:
            while True:
                await asyncio.sleep(min(wd.session_check_seconds, PRESENCE_SECONDS / 3))
                await store.set_presence(session.tenant, session.username, clock() + PRESENCE_SECONDS)
                request.pop(SESSION, None)
                if await current_session(request, touch=False) is None:
                    await ws.send_json({"type": "logout"})
                    await ws.close()
                    return

        tasks = [asyncio.create_task(forward()), asyncio.create_task(watchdog())]
        sockets = request.config_dict[CONSOLE_SOCKETS]
        sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            sockets.discard(ws)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await store.set_presence(session.tenant, session.username, 0.0)
    return ws


# -- crisis marks (issue 14): a counsellor says the bot missed a crisis in a resident message, or over-read one ------


def _marks(request: web.Request) -> CrisisMarks:
    marks = _web(request).crisis_marks
    if marks is None:
        raise web.HTTPNotFound(text="crisis marks are not enabled")
    return marks


@require_role(*CONSOLE_ROLES)
async def api_crisis_mark_choices(request: web.Request) -> web.Response:
    return web.json_response({"categories": [list(c) for c in _marks(request).categories()]})


@require_role(*CONSOLE_ROLES)
async def api_crisis_mark(request: web.Request) -> web.Response:
    """Mark one resident text message of a conversation this staff member may read. The text is taken from the
    transcript (not from the request) and goes to the review list only: neither the log nor the audit sees it."""
    session: Session = request[SESSION]
    marks = _marks(request)
    conv = await _readable(request, request.match_info["cid"])
    try:
        data = await request.json()
    except (ValueError, json.JSONDecodeError):
        raise web.HTTPBadRequest(text="bad body") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="bad body")
    hd = _web(request).handoff
    mid = request.match_info["mid"]
    message = next((m for m in await hd.store.transcript(session.tenant, conv.id) if m.id == mid), None)
    if message is None:
        raise web.HTTPNotFound(text="no such message")
    if message.sender != "resident" or message.kind != "text":
        return web.json_response({"ok": False, "error": "相談者の文章のメッセージだけを記録できます。"}, status=409)
    verdict, category = data.get("verdict"), data.get("category")
    if not isinstance(verdict, str) or not (category is None or isinstance(category, str)):
        raise web.HTTPBadRequest(text="verdict: a text; category: a text or null")
    category = category or None
    try:
        mark = await marks.mark(
            session.tenant, conv.id, mid, message.text, verdict, category, session.username, hd.policy(session.tenant).retention_days
        )
    except ValueError as exc:
        return web.json_response({"ok": False, "error": str(exc)}, status=409)
    await staff_service.audit(
        request.config_dict[STAFF_DEPS].store, session, "handoff.crisis_mark", conv.id, verdict=verdict, category=category or ""
    )
    return web.json_response({"ok": True, "mark": mark})
