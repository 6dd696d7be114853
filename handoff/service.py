"""Handoff service functions: what the router, the crisis layer, the console and the scheduler call.

Router contract (per resident event, before any bot handler)::

    if await handoff.is_held(deps, tenant.id, incoming.user_id):
        return await handoff.on_resident_message(deps, tenant, incoming.user_id, incoming)  # bot stays silent

and to escalate (crisis layer: ``risk="crisis"``; 「人と話したい」: ``reason="request"``)::

    answer = await handoff.request_handoff(deps, tenant, user_id, category=..., risk=..., reason=..., summary=...)
    reply(answer.messages)

``is_held`` is true while a request is queued or a counsellor holds it, so a waiting resident's messages reach the
counsellor's transcript instead of the bot.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot import i18n
from bot.chat import Incoming, postback_data, qr_postback, text
from bot.config import Tenant
from bot.hotlines import arrange, default_table, format_line, tenant_line
from handoff.bus import HandoffBus
from handoff.hours import describe_hours, format_when, hours_status
from handoff.line import LinePort, LinePushError
from handoff.model import KPI_CATEGORIES, RISKS, Conversation, HandoffPolicy, Message, Note, Referral
from handoff.store import HandoffStore

RETRY_NS = uuid.UUID("8b0d5a52-4f4e-4a53-9a43-0c1f3c6a2d11")
NOTICE_EVERY_SECONDS = 10 * 60
LOADING_SECONDS = 20
KIND_PLACEHOLDER = {"sticker": "（スタンプ）", "image": "（画像）", "location": "（位置情報）", "other": "（メッセージ）"}


log = logging.getLogger("civicbot.handoff")


class KpiPort(Protocol):
    """The two statistics this room feeds (``kpi.recorder.KpiRecorder`` fits; labels are KPI_CATEGORIES ids)."""

    async def consultation_opened(self, tenant: str, category: str, outside_hours: bool) -> None: ...
    async def consultation_taken(self, tenant: str, category: str, wait_seconds: float) -> None: ...


class HandoffError(Exception):
    """The action is not possible in the conversation's current state (already taken, already closed, ...)."""


class HandoffForbidden(HandoffError):
    """The staff member may not act on this conversation (not the holder, not a supervisor)."""


@dataclass
class HandoffDeps:
    store: HandoffStore
    bus: HandoffBus
    line: LinePort
    policies: Mapping[str, HandoffPolicy] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    kpi: KpiPort | None = None  # statistics; None = not recorded
    _loading: dict[str, float] = field(default_factory=dict)  # conv id -> last loading call (per process throttle)

    def policy(self, tenant_id: str) -> HandoffPolicy:
        return self.policies.get(tenant_id) or HandoffPolicy()


@dataclass
class HandoffAnswer:
    """What to tell the resident right now, and the facts behind it (for logs and tests)."""

    messages: list[dict]
    conversation_id: str
    created: bool
    position: int  # 1 = next in line; 0 = a counsellor already holds it
    accepting: bool
    next_open: dt.datetime | None


async def _record(deps: HandoffDeps, what: str, *args: Any) -> None:
    """Statistics never get in the way of a consultation: failures are logged and dropped."""
    if deps.kpi is None:
        return
    try:
        await getattr(deps.kpi, what)(*args)
    except Exception:  # noqa: BLE001
        log.warning("kpi record failed", extra={"kpi": what, "tenant": args[0] if args else ""}, exc_info=True)


def retry_key(tenant: str, conv_id: str, what: str) -> str:
    """Deterministic X-Line-Retry-Key: the same logical message always gets the same key, so retries never duplicate."""
    return str(uuid.uuid5(RETRY_NS, f"{tenant}:{conv_id}:{what}"))


def say(key: str, language: str, **kw: Any) -> str:
    """A resident-facing text of this room (catalogue ``handoff.*``); ``language`` is already resolved for the tenant."""
    return i18n.t(f"handoff.{key}", language, **kw)


def hotline_lines(tenant: Tenant, language: str = "ja") -> list[str]:
    """Tenant lines for every category (``category: all`` or none) first, then the core table's ``waiting`` lines
    (``bot/hotlines.yaml``) — for a Japanese resident only those that speak Japanese."""
    own = [tenant_line(h) for h in tenant.hotlines if h.get("category", "all") == "all" and (h.get("number") or h.get("tel"))]
    table = default_table()
    waiting = [h for i in table.waiting for h in table.lines if h.id == i]
    if language in ("ja", "ja-easy"):
        waiting = [h for h in waiting if h.speaks(language)]
    return [format_line(h, language, say("japanese_only", language)) for h in arrange(own, waiting, language)]


def hotline_message(tenant: Tenant, language: str = "ja") -> dict:
    body = "\n".join([say("hotline_head", language), *hotline_lines(tenant, language), say("hotline_tail", language)])
    return text(body)


def _cancel_qr(language: str = "ja") -> list[dict]:
    label = say("cancel_label", language)
    return [qr_postback(label, postback_data("handoff", "cancel"), label)]


async def _position(deps: HandoffDeps, tenant_id: str, conv_id: str) -> int:
    for i, c in enumerate(await deps.store.queue(tenant_id), start=1):
        if c.id == conv_id:
            return i
    return 0


def _now_dt(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


async def request_handoff(
    deps: HandoffDeps,
    tenant: Tenant,
    user_id: str,
    *,
    category: str = "general",
    risk: str = "normal",
    reason: str = "request",
    summary: str = "",
    resident_text: str | None = None,
    display_name: str = "",
    include_hotlines: bool = True,
    stat_category: str | None = None,
    language: str = "ja",
) -> HandoffAnswer:
    """Queue a consultation (or find the open one) and say honestly what happens next.

    Outside office hours or after the cut-off the request still stays queued; the resident is told when the service
    opens and given the 24-hour hotlines. ``resident_text`` (the crisis message itself) is kept only if the tenant's
    policy allows; ``summary`` should be the bot's short, neutral description. ``stat_category`` (a KPI_CATEGORIES
    id; default "crisis" for the crisis layer, else "general") is what the statistics count the consultation under.
    ``language`` is the resident's (``Incoming.language``); replies and later pushes use it as the tenant offers it.
    """
    lang = i18n.resolve(language, tenant.languages)
    if risk not in RISKS:
        raise ValueError(f"risk must be one of {sorted(RISKS)}")
    policy = deps.policy(tenant.id)
    now = deps.clock()
    conv = Conversation(
        id=Conversation.new_id(),
        tenant=tenant.id,
        user_id=user_id,
        category=category,
        risk=risk,
        reason=reason,
        summary=summary[:200],
        crisis_text=(resident_text or "")[:1000] if policy.include_crisis_text else "",
        created_at=now,
        last_activity=now,
        last_notice_at=now,
        display_name=display_name if policy.show_display_name else "",
        stat_category=stat_category if stat_category in KPI_CATEGORIES else ("crisis" if reason == "crisis" else "general"),
        language=lang,
    )
    conv, created = await deps.store.create_or_get(conv)
    if not created and RISKS[risk] > conv.risk_rank:
        await deps.store.update(tenant.id, conv.id, {"risk": risk, "category": category, "summary": summary[:200] or conv.summary})
        await deps.store.requeue(tenant.id, conv.id)
        conv.risk = risk
    await deps.bus.publish(tenant.id, {"type": "queue", "cid": conv.id, "risk": conv.risk})
    status = hours_status(tenant.office_hours, _now_dt(now))
    if created:
        await _record(deps, "consultation_opened", tenant.id, conv.stat_category, not status.accepting)
    position = await _position(deps, tenant.id, conv.id) if conv.status == "queued" else 0
    present = await deps.store.present(tenant.id, now)
    free = await free_counsellors(deps, tenant.id)
    hours = describe_hours(tenant.office_hours, lang)
    messages: list[dict] = []
    crisis = conv.risk_rank >= RISKS["high"]
    if conv.status == "active":
        messages.append(text(say("active", lang)))
    elif status.accepting:
        lead = say("lead_crisis" if crisis else "lead", lang)
        if not created:
            lead = say("lead_again", lang)
        eta = say("eta", lang, minutes=position * policy.minutes_per_case) if policy.minutes_per_case else ""
        parts = [say("position", lang, lead=lead, position=position, eta=eta)]
        busy = position > len(free)
        if busy and present:
            parts.append(say("all_busy", lang))
        elif busy:  # open hours, but nobody has the console open right now: do not claim they are all busy
            parts.append(say("none_free", lang))
        parts += [say("keep_sending", lang), say("hours", lang, hours=hours)]
        messages.append(text("\n".join(parts)))
        if include_hotlines and (crisis or busy):  # nobody free right now: give the 24-hour lines as well
            messages.append(hotline_message(tenant, lang))
    else:
        if status.next_open is not None:
            later = say("later_when", lang, when=format_when(status.next_open, _now_dt(now), lang))
        else:
            later = say("later_unknown", lang)
        closed = say("closed_today" if status.open_now else "closed_now", lang)
        messages.append(text(say("closed", lang, closed=closed, hours=hours, later=later)))
        if include_hotlines:
            messages.append(hotline_message(tenant, lang))
    if conv.status == "queued":  # LINE shows only the last message's quick replies
        messages[-1] = text(messages[-1]["text"], _cancel_qr(lang))
    return HandoffAnswer(messages, conv.id, created, position, status.accepting, status.next_open)


async def free_counsellors(deps: HandoffDeps, tenant_id: str) -> list[str]:
    """Staff with the console open who hold no conversation right now."""
    present = await deps.store.present(tenant_id, deps.clock())
    holding = {c.holder for c in await deps.store.live(tenant_id)}
    return [u for u in present if u not in holding]


async def is_held(deps: HandoffDeps, tenant_id: str, user_id: str) -> bool:
    """True while the resident has a queued or held consultation: the bot must not answer them."""
    return await deps.store.open_for_user(tenant_id, user_id) is not None


async def handle_if_held(deps: HandoffDeps, incoming: Incoming) -> list[dict] | None:
    """Router middleware in one call: None = not held, run the bot; a list = held, send these (often none) and stop."""
    if not await is_held(deps, incoming.tenant.id, incoming.user_id):
        return None
    return await on_resident_message(deps, incoming.tenant, incoming.user_id, incoming)


async def on_resident_message(deps: HandoffDeps, tenant: Tenant, user_id: str, incoming: Incoming) -> list[dict]:
    """Put the resident's event into the transcript and tell live consoles; returns what the bot should send (often nothing)."""
    conv = await deps.store.open_for_user(tenant.id, user_id)
    if conv is None:
        return []
    now = deps.clock()
    if incoming.kind == "postback" and incoming.postback.get("room") == "handoff":
        if incoming.postback.get("action") == "cancel" and conv.status == "queued":
            if await deps.store.finish(tenant.id, conv.id, "cancelled", now):
                await deps.store.append_message(tenant.id, conv.id, Message(uuid.uuid4().hex, now, "system", "相談者が申し込みを取り消しました"))
                await deps.bus.publish(tenant.id, {"type": "queue", "cid": conv.id})
            return [text(say("cancelled", conv.language))]
        return []
    if incoming.kind in ("follow", "unfollow"):
        return []
    body = incoming.text if incoming.kind == "text" and incoming.text else KIND_PLACEHOLDER.get(incoming.kind, "（メッセージ）")
    msg = Message(id=incoming.message_id or uuid.uuid4().hex, ts=now, sender="resident", text=body, kind=incoming.kind)
    await deps.store.append_message(tenant.id, conv.id, msg)
    token = str((incoming.raw.get("message") or {}).get("markAsReadToken") or "")
    changes: dict[str, Any] = {"last_activity": now, "unread": conv.unread + 1}
    if token:
        changes["read_token"] = token
    reply: list[dict] = []
    if conv.status == "queued" and now - conv.last_notice_at >= NOTICE_EVERY_SECONDS:
        changes["last_notice_at"] = now
        position = await _position(deps, tenant.id, conv.id)
        reply = [text(say("still_waiting", conv.language, position=position), _cancel_qr(conv.language))]
    await deps.store.update(tenant.id, conv.id, changes)
    await deps.bus.publish(tenant.id, {"type": "message", "cid": conv.id, "message": msg.to_dict()})
    return reply


async def raise_risk(deps: HandoffDeps, tenant_id: str, user_id: str, risk: str, category: str = "") -> None:
    """A crisis signal inside an open conversation: raise its risk (queue order) and tell the consoles."""
    conv = await deps.store.open_for_user(tenant_id, user_id)
    if conv is None or RISKS[risk] <= conv.risk_rank:
        return
    changes: dict[str, Any] = {"risk": risk}
    if category:
        changes["category"] = category
    await deps.store.update(tenant_id, conv.id, changes)
    await deps.store.requeue(tenant_id, conv.id)
    await _system(deps, conv, "危機の兆候がある言葉がありました")
    await deps.bus.publish(tenant_id, {"type": "queue", "cid": conv.id})


async def resident_left(deps: HandoffDeps, tenant_id: str, user_id: str) -> None:
    """Unfollow/block: end the open conversation (nothing can be pushed to them any more)."""
    conv = await deps.store.open_for_user(tenant_id, user_id)
    if conv is not None and await deps.store.finish(tenant_id, conv.id, "cancelled", deps.clock()):
        await _system(deps, conv, "相談者が友だち登録を解除しました")
        await deps.bus.publish(tenant_id, {"type": "conversation", "cid": conv.id, "status": "cancelled"})


# ---- console actions -------------------------------------------------------------------------------------------


async def _get(deps: HandoffDeps, tenant_id: str, conv_id: str) -> Conversation:
    conv = await deps.store.get(tenant_id, conv_id)
    if conv is None:
        raise HandoffError("no such conversation")
    return conv


def may_read(conv: Conversation, username: str, role: str) -> bool:
    """Counsellors read only what they hold (or joined); supervisors read every conversation of their tenant."""
    return role == "supervisor" or username == conv.holder or username in conv.supervisors


async def _system(deps: HandoffDeps, conv: Conversation, body: str) -> None:
    msg = Message(uuid.uuid4().hex, deps.clock(), "system", body)
    await deps.store.append_message(conv.tenant, conv.id, msg)
    await deps.bus.publish(conv.tenant, {"type": "message", "cid": conv.id, "message": msg.to_dict()})


async def _push(deps: HandoffDeps, tenant_id: str, user_id: str, messages: list[dict], key: str) -> None:
    """Push through the LinePort; LINE's 409 for a retry key it already accepted counts as delivered."""
    try:
        await deps.line.push(tenant_id, user_id, messages, key)
    except LinePushError:
        raise
    except Exception as exc:  # the gateway's own error type (bot.line.LineApiError carries .status)
        if getattr(exc, "status", None) == 409:
            return
        raise LinePushError(str(exc)) from exc


async def _push_quietly(deps: HandoffDeps, conv: Conversation, body: str, what: str) -> bool:
    try:
        await _push(deps, conv.tenant, conv.user_id, [text(body)], retry_key(conv.tenant, conv.id, what))
        return True
    except LinePushError:
        await _system(deps, conv, "相談者へのメッセージを送れませんでした（LINE）")
        return False


async def take_over(deps: HandoffDeps, tenant_id: str, conv_id: str, username: str) -> Conversation:
    """Become the holder (the lock). Exactly one of several simultaneous callers succeeds; the others get HandoffError."""
    if not await deps.store.take(tenant_id, conv_id, username, deps.clock()):
        raise HandoffError("already taken or closed")
    conv = await _get(deps, tenant_id, conv_id)
    await _record(deps, "consultation_taken", tenant_id, conv.stat_category, max(0.0, conv.taken_at - conv.created_at))
    await _system(deps, conv, f"{username} が対応を始めました")
    await _push_quietly(deps, conv, say("taken", conv.language), "taken")
    await deps.bus.publish(tenant_id, {"type": "conversation", "cid": conv_id, "holder": username})
    return conv


async def send_message(deps: HandoffDeps, tenant_id: str, conv_id: str, username: str, body: str, client_id: str) -> Message:
    """Send a counsellor's reply via LINE push. ``client_id`` (from the console) makes a resubmission idempotent."""
    conv = await _get(deps, tenant_id, conv_id)
    if not conv.may_write(username):
        raise HandoffForbidden("not holding this conversation")
    body = body.strip()
    if not body or len(body) > 5000:
        raise HandoffError("message must have 1-5000 characters")
    if not client_id or len(client_id) > 64:
        raise HandoffError("client_id required")
    msg_id = f"c-{client_id}"
    for existing in await deps.store.transcript(tenant_id, conv_id):
        if existing.id == msg_id:
            return existing
    await _push(deps, tenant_id, conv.user_id, [text(body)], retry_key(tenant_id, conv_id, msg_id))
    now = deps.clock()
    msg = Message(id=msg_id, ts=now, sender="counsellor", text=body, author=username)
    await deps.store.append_message(tenant_id, conv_id, msg)
    await deps.store.update(tenant_id, conv_id, {"last_activity": now})
    deps._loading.pop(conv_id, None)  # LINE hides the indicator when a message arrives
    await deps.bus.publish(tenant_id, {"type": "message", "cid": conv_id, "message": msg.to_dict()})
    return msg


async def typing(deps: HandoffDeps, tenant_id: str, conv_id: str, username: str) -> bool:
    """Show LINE's loading animation while the counsellor types (at most one call per 15 s per conversation)."""
    conv = await _get(deps, tenant_id, conv_id)
    if not conv.may_write(username):
        raise HandoffForbidden("not holding this conversation")
    now = deps.clock()
    if now - deps._loading.get(conv_id, 0.0) < LOADING_SECONDS - 5:
        return False
    deps._loading[conv_id] = now
    try:
        await deps.line.show_loading(tenant_id, conv.user_id, LOADING_SECONDS)
    except Exception:  # noqa: BLE001 - a cosmetic hint: never an error in the counsellor's face while typing
        log.warning("loading animation failed", extra={"tenant": tenant_id}, exc_info=True)
        return False
    return True


async def mark_read(deps: HandoffDeps, tenant_id: str, conv_id: str, username: str) -> bool:
    """既読 only when the holding counsellor has the conversation open; supervisors watching do not mark it read."""
    conv = await _get(deps, tenant_id, conv_id)
    if conv.status != "active" or conv.holder != username or conv.unread == 0:
        return False
    try:
        await deps.line.mark_as_read(tenant_id, conv.user_id)
    except Exception:  # noqa: BLE001 - opening the conversation must work while LINE fails; unread stays, so retried
        log.warning("markAsRead failed", extra={"tenant": tenant_id}, exc_info=True)
        return False
    await deps.store.update(tenant_id, conv_id, {"unread": 0, "read_token": ""})
    return True


async def add_note(deps: HandoffDeps, tenant_id: str, conv_id: str, username: str, role: str, body: str) -> Note:
    conv = await _get(deps, tenant_id, conv_id)
    if not may_read(conv, username, role):
        raise HandoffForbidden("not your conversation")
    body = body.strip()
    if not body:
        raise HandoffError("empty note")
    note = Note(ts=deps.clock(), author=username, text=body[:5000])
    await deps.store.add_note(tenant_id, conv_id, note)
    return note


def referral_checklist(tenant: Tenant, policy: HandoffPolicy) -> list[Referral]:
    """警察 110, 救急 119, 児童相談所, and the municipality (the tenant the resident is registered with)."""
    return [
        Referral("警察", "110", "命や身体に危険が迫っている"),
        Referral("救急・消防", "119", "けが・急病・自殺企図"),
        policy.child_guidance_center,
        Referral(f"{tenant.display_name}（市区町村）", f"団体コード {tenant.lg_code}", "担当課・福祉事務所へ連絡"),
    ]


async def set_emergency(deps: HandoffDeps, tenant: Tenant, conv_id: str, username: str) -> list[Referral]:
    """Flag an emergency: supervisors are alerted at once (bus event) and the checklist is returned."""
    conv = await _get(deps, tenant.id, conv_id)
    if not conv.may_write(username):
        raise HandoffForbidden("not holding this conversation")
    await deps.store.update(tenant.id, conv_id, {"emergency": True, "risk": "crisis"})
    await _system(deps, conv, f"{username} が緊急対応にしました")
    await deps.bus.publish(tenant.id, {"type": "emergency", "cid": conv_id, "by": username})
    return referral_checklist(tenant, deps.policy(tenant.id))


async def transfer(deps: HandoffDeps, tenant_id: str, conv_id: str, from_user: str, to_user: str) -> None:
    if from_user == to_user:
        raise HandoffError("same counsellor")
    if not await deps.store.transfer(tenant_id, conv_id, from_user, to_user):
        raise HandoffForbidden("only the holder can transfer an active conversation")
    conv = await _get(deps, tenant_id, conv_id)
    await _system(deps, conv, f"{from_user} から {to_user} に引き継ぎました")
    await deps.bus.publish(tenant_id, {"type": "conversation", "cid": conv_id, "holder": to_user})


async def join(deps: HandoffDeps, tenant_id: str, conv_id: str, supervisor: str) -> None:
    conv = await _get(deps, tenant_id, conv_id)
    if conv.status != "active":
        raise HandoffError("not active")
    if supervisor not in conv.supervisors and supervisor != conv.holder:
        await deps.store.update(tenant_id, conv_id, {"supervisors": [*conv.supervisors, supervisor]})
        await _system(deps, conv, f"スーパーバイザー {supervisor} が参加しました")
        await deps.bus.publish(tenant_id, {"type": "conversation", "cid": conv_id})


async def _end(deps: HandoffDeps, tenant_id: str, conv_id: str, username: str, role: str, status: str, body: str | None, changes: dict[str, Any]) -> None:
    """``body`` None = the catalogue's text for ``status`` in the resident's language."""
    conv = await _get(deps, tenant_id, conv_id)
    if body is None:
        body = say({"closed": "closing", "handed_back": "handback"}.get(status, status), conv.language)
    if not (conv.may_write(username) or (role == "supervisor" and conv.is_open)):
        raise HandoffForbidden("not holding this conversation")
    if not await deps.store.finish(tenant_id, conv_id, status, deps.clock(), changes):
        raise HandoffError("already closed")
    await _system(deps, conv, {"closed": "終了しました", "handed_back": "自動応答に戻しました"}.get(status, status) + f"（{username}）")
    if body.strip():
        await _push_quietly(deps, conv, body.strip(), status)
    await deps.bus.publish(tenant_id, {"type": "conversation", "cid": conv_id, "status": status})


async def hand_back(deps: HandoffDeps, tenant_id: str, conv_id: str, username: str, role: str, message: str | None = None) -> None:
    """Release the resident to the bot again, telling them so."""
    body = (deps.policy(tenant_id).handback_message or None) if message is None else message
    await _end(deps, tenant_id, conv_id, username, role, "handed_back", body, {})


async def close(
    deps: HandoffDeps, tenant_id: str, conv_id: str, username: str, role: str, *, labels: list[str], category: str, message: str | None = None
) -> None:
    """Close with labels/category for statistics and a closing message to the resident."""
    policy = deps.policy(tenant_id)
    bad = [lab for lab in labels if lab not in policy.labels]
    if bad or (category and category not in policy.categories):
        raise HandoffError("unknown label or category")
    body = (policy.closing_message or None) if message is None else message
    await _end(deps, tenant_id, conv_id, username, role, "closed", body, {"labels": labels, "closing_category": category})


async def expire_inactive(deps: HandoffDeps, tenant_id: str) -> list[str]:
    """Scheduler job: close held conversations with no message either way for ``inactivity_minutes``."""
    policy = deps.policy(tenant_id)
    now = deps.clock()
    expired = []
    for conv in await deps.store.live(tenant_id):
        if now - conv.last_activity >= policy.inactivity_minutes * 60 and await deps.store.finish(tenant_id, conv.id, "timeout", now):
            await _system(deps, conv, "やりとりがないため自動で終了しました")
            await _push_quietly(deps, conv, policy.timeout_message or say("timeout", conv.language), "timeout")
            await deps.bus.publish(tenant_id, {"type": "conversation", "cid": conv.id, "status": "timeout"})
            expired.append(conv.id)
    return expired


async def purge_expired(deps: HandoffDeps, tenant_id: str) -> int:
    """Scheduler job: delete transcripts of conversations that ended more than ``retention_days`` ago."""
    days = deps.policy(tenant_id).retention_days
    return await deps.store.purge_closed_before(tenant_id, deps.clock() - days * 86400)


async def housekeeping(deps: HandoffDeps, tenant_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Scheduler job (every minute is fine): inactivity timeouts and retention purge for every tenant.

    Returns tenant → (conversations timed out, conversations purged)."""
    out = {}
    for tenant_id in tenant_ids:
        out[tenant_id] = (len(await expire_inactive(deps, tenant_id)), await purge_expired(deps, tenant_id))
    return out
