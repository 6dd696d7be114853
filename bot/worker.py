"""The chat worker: takes events from the inbox, runs the router, answers through LINE.

Order per conversation is kept because each inbox shard is worked by one task of one worker at a time (leases).
An event is acknowledged only after its reply went out; a crash before that means the next owner of the shard
handles it again, and the push fallback then reuses the same ``X-Line-Retry-Key`` (derived from the event id), so
LINE delivers it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.chat import Incoming, Message, parse_postback
from bot.config import Tenant
from bot.inbox import Inbox, InboxEntry
from bot.leases import Leases
from bot.line import LineApiError, LineGateway
from bot.redis_client import is_transient
from bot.router import Dispatcher

log = logging.getLogger("civicbot.worker")

REDIS_RETRY_SECONDS = 0.5  # pause after Redis was unreachable (a failover takes node-timeout + election, ≈ 1–3 s)
REPLY_TOKEN_TTL = 50.0  # LINE's reply tokens live about a minute; leave a margin
_RETRY_NS = uuid.UUID("6f1c2a3e-8d4b-4c8e-9a57-3b1f0c2d9e11")

KNOWN_KINDS = {"message", "postback", "follow", "unfollow"}


class WorkerMetrics(Protocol):
    """What the worker counts (kpi.metrics.Metrics implements it)."""

    def event_processed(self, kind: str, outcome: str = "ok") -> None: ...

    def line_api_error(self, endpoint: str, status: int | str) -> None: ...


def to_incoming(tenant: Tenant, event: dict[str, Any]) -> Incoming | None:
    """Normalize a webhook event into what handlers see; None for events the bot does not act on."""
    etype = event.get("type")
    source: dict[str, Any] = event["source"] if isinstance(event.get("source"), dict) else {}
    user_id = source.get("userId")
    if (
        not isinstance(etype, str)
        or etype not in KNOWN_KINDS
        or not isinstance(user_id, str)
        or source.get("type", "user") != "user"
    ):
        return None
    base: dict[str, Any] = dict(
        tenant=tenant,
        user_id=user_id,
        webhook_event_id=str(event.get("webhookEventId", "")),
        timestamp_ms=event["timestamp"] if isinstance(event.get("timestamp"), int) else 0,
        reply_token=event["replyToken"] if isinstance(event.get("replyToken"), str) else None,
        raw=event,
    )
    if etype == "follow":
        return Incoming(kind="follow", **base)
    if etype == "unfollow":
        return Incoming(kind="unfollow", **base)
    if etype == "postback":
        pb: dict[str, Any] = event["postback"] if isinstance(event.get("postback"), dict) else {}
        return Incoming(
            kind="postback",
            postback=parse_postback(str(pb.get("data", ""))),
            postback_params=pb["params"] if isinstance(pb.get("params"), dict) else {},
            **base,
        )
    message: dict[str, Any] = event["message"] if isinstance(event.get("message"), dict) else {}
    mtype = message.get("type")
    if mtype == "text":
        return Incoming(kind="text", text=str(message.get("text", "")), message_id=str(message.get("id", "")), **base)
    if mtype == "location":
        try:
            loc = (float(message["latitude"]), float(message["longitude"]))
        except (KeyError, TypeError, ValueError):
            return None
        return Incoming(kind="location", location=loc, address=message.get("address"), message_id=message.get("id"), **base)
    if mtype == "image":
        return Incoming(kind="image", message_id=message.get("id"), **base)
    if mtype == "sticker":
        return Incoming(kind="sticker", message_id=message.get("id"), **base)
    return Incoming(kind="other", message_id=message.get("id"), **base)


def retry_key_for(incoming: Incoming, part: int = 0) -> str:
    return str(uuid.uuid5(_RETRY_NS, f"{incoming.tenant.id}:{incoming.webhook_event_id}:{part}"))


class Responder:
    """Reply with the token while it is fresh; otherwise push with a retry key stable across reprocessing."""

    def __init__(self, line: LineGateway, clock: Callable[[], float] = time.time) -> None:
        self._line = line
        self._clock = clock

    async def send(self, incoming: Incoming, messages: list[Message]) -> str:
        if not messages:
            return "none"
        chunks = [messages[i : i + 5] for i in range(0, len(messages), 5)]
        age = self._clock() - incoming.timestamp_ms / 1000 if incoming.timestamp_ms else 0.0
        first = chunks[0]
        how = "reply"
        if incoming.reply_token and age < REPLY_TOKEN_TTL:
            try:
                await self._line.reply(incoming.tenant.id, incoming.reply_token, first)
            except LineApiError as exc:
                if not exc.invalid_reply_token:
                    raise
                if age < 5:  # fresh token refused = already used by an earlier attempt of this event
                    log.info("reply token already used; not sending twice", extra={"tenant": incoming.tenant.id})
                    return "already-replied"
                await self._push(incoming, first, 0)
                how = "push"
        else:
            await self._push(incoming, first, 0)
            how = "push"
        for n, chunk in enumerate(chunks[1:], start=1):
            await self._push(incoming, chunk, n)
        return how

    async def _push(self, incoming: Incoming, messages: list[Message], part: int) -> None:
        try:
            await self._line.push(incoming.tenant.id, incoming.user_id, messages, retry_key_for(incoming, part))
        except LineApiError as exc:
            if exc.accepted_before:
                return
            raise


@dataclass
class WorkerDeps:
    tenants: dict[str, Tenant]
    inbox: Inbox
    leases: Leases
    dispatcher: Dispatcher
    line: LineGateway
    loading_after: float = 0.4
    metrics: WorkerMetrics | None = None  # kpi.metrics.Metrics: events processed, LINE API errors


async def _held(deps: WorkerDeps, incoming: Incoming) -> bool:
    """A counsellor holds the conversation: no "typing" from the bot, which stays silent."""
    try:
        return await deps.dispatcher.is_held(incoming)
    except Exception:  # noqa: BLE001 - the animation is cosmetic
        return False


async def handle_entry(deps: WorkerDeps, responder: Responder, entry: InboxEntry) -> None:
    tenant = deps.tenants.get(entry.tenant)
    if tenant is None:
        log.warning("event for unknown tenant dropped", extra={"tenant": entry.tenant})
        return
    incoming = to_incoming(tenant, entry.event)
    if incoming is None:
        return
    work = asyncio.ensure_future(deps.dispatcher.process(incoming))
    done, _ = await asyncio.wait({work}, timeout=deps.loading_after)
    if not done and incoming.kind in ("text", "postback", "location") and not await _held(deps, incoming):
        with contextlib.suppress(LineApiError, Exception):
            await deps.line.show_loading(tenant.id, incoming.user_id, 5)
    messages = await work
    if incoming.kind == "unfollow":
        return
    await responder.send(incoming, messages)


async def run_shard(deps: WorkerDeps, shard: int, owner: str, stop: asyncio.Event, responder: Responder) -> None:
    """Work one shard while we hold its lease. Redis failing over (connection refused, CLUSTERDOWN, …) is ridden
    out: the shard pauses and re-reads its pending entries, and such an error never counts as the event's failure
    (it would dead-letter an acknowledged event after three attempts)."""
    lease_name = f"inbox-{shard}"
    try:
        while not stop.is_set():
            try:
                if not await deps.leases.acquire(lease_name, owner, 15_000):
                    return
                entries = await deps.inbox.read(shard, count=16, block_ms=500)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                # a read whose reply was lost still moved its entries into our pending list: read that list again
                _forget_progress(deps, shard)
                await _redis_pause(stop, "shard", exc, shard=shard)
                continue
            for entry in entries:
                if stop.is_set():
                    return
                if not await _work_entry(deps, responder, entry, stop):
                    _forget_progress(deps, shard)  # re-read the pending entries, in order, after the pause
                    break
    finally:
        _forget_progress(deps, shard)


async def _work_entry(deps: WorkerDeps, responder: Responder, entry: InboxEntry, stop: asyncio.Event) -> bool:
    """Handle and acknowledge one event; False when the shard must pause and re-read its pending entries."""
    kind = str(entry.event.get("type", "other"))[:20]
    try:
        await handle_entry(deps, responder, entry)
    except Exception as exc:  # one bad event must not block the conversation forever
        if is_transient(exc):  # nothing was sent yet (the reply goes last): handle it again once Redis is back
            await _redis_pause(stop, "event", exc, shard=entry.shard)
            return False
        log.exception("event failed", extra={"tenant": entry.tenant, "shard": entry.shard})
        if isinstance(exc, LineApiError) and deps.metrics is not None:
            deps.metrics.line_api_error("reply_or_push", exc.status)
        try:
            dead = await deps.inbox.retry_later(entry, repr(exc))
        except Exception as inner:
            if not is_transient(inner):
                raise
            await _redis_pause(stop, "retry_later", inner, shard=entry.shard)
            return False
        if deps.metrics is not None:
            deps.metrics.event_processed(kind, "dead" if dead else "retry")
        if not dead:
            await asyncio.sleep(0.5)
        return False  # keep order: re-read pending before anything newer
    # answered: the ack must land, or the event runs again and the resident is answered twice
    while True:
        try:
            await deps.inbox.ack(entry)
            break
        except Exception as exc:
            if not is_transient(exc) or stop.is_set():
                raise
            await _redis_pause(stop, "ack", exc, shard=entry.shard)
    if deps.metrics is not None:
        deps.metrics.event_processed(kind, "ok")
    return True


def _forget_progress(deps: WorkerDeps, shard: int) -> None:
    release = getattr(deps.inbox, "release", None)
    if release:
        release(shard)


async def _redis_pause(stop: asyncio.Event, where: str, exc: BaseException, **extra: Any) -> None:
    log.warning("redis unavailable, retrying", extra={"where": where, "error": f"{type(exc).__name__}: {exc}"[:200], **extra})
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), REDIS_RETRY_SECONDS)


async def run_worker(deps: WorkerDeps, stop: asyncio.Event, owner: str | None = None) -> None:
    """Acquire a fair share of shards and work them until ``stop`` is set."""
    owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    responder = Responder(deps.line)
    tasks: dict[int, asyncio.Task[None]] = {}
    shards = deps.inbox.shards
    log.info("worker started", extra={"owner": owner, "shards": shards})
    try:
        while not stop.is_set():
            for shard, task in list(tasks.items()):
                if task.done():
                    del tasks[shard]
                    if not task.cancelled() and task.exception() is not None:
                        log.error("shard task failed", exc_info=task.exception(), extra={"shard": shard})
            try:
                await _balance(deps, owner, tasks, stop, responder)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await _redis_pause(stop, "leases", exc)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
    finally:
        stop.set()
        for task in tasks.values():
            task.cancel()
        for shard, task in tasks.items():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            with contextlib.suppress(Exception):  # Redis away: the lease runs out by itself (15 s)
                await deps.leases.release(f"inbox-{shard}", owner)
        log.info("worker stopped", extra={"owner": owner})


async def _balance(
    deps: WorkerDeps, owner: str, tasks: dict[int, asyncio.Task[None]], stop: asyncio.Event, responder: Responder
) -> None:
    """Take a fair share of the shards (workers alive / shards), give back any excess."""
    alive = max(1, await deps.leases.heartbeat(owner, 10_000))
    fair = -(-deps.inbox.shards // alive)
    for shard in range(deps.inbox.shards):
        if len(tasks) >= fair or shard in tasks:
            continue
        if await deps.leases.acquire(f"inbox-{shard}", owner, 15_000):
            tasks[shard] = asyncio.create_task(run_shard(deps, shard, owner, stop, responder))
    while len(tasks) > fair:  # give shards back when more workers joined
        shard, task = tasks.popitem()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await deps.leases.release(f"inbox-{shard}", owner)
