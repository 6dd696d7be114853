"""The chat router: one resident event in, LINE messages out.

Cross-cutting concerns are middlewares (aiogram style: ``async def mw(handler, incoming, data)``), in this order:
user loading → counsellor-held conversations (bot silent) → crisis layer → routing to the rooms.
Rooms plug in through ``Dispatcher.include(room)`` (the composition root does it); a room is anything that has the
``Room`` protocol. The NLU, the crisis layer and the counsellors (handoff) are ports the root passes in; each is
optional so that the bot runs (honestly) before every room exists.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot import i18n
from bot.chat import Incoming
from bot.config import Tenant
from bot.messages import button_intent, menu_text
from bot.users import User, UserStore

log = logging.getLogger("civicbot.router")

_SMALL_TALK = {"greet": "greeting", "thanks": "thanks", "help": "help"}  # nlu intent -> bot.messages text

Reply = list[dict[str, Any]]  # LINE message objects (bot.chat)
Handler = Callable[[Incoming, dict[str, Any]], Awaitable[Reply | None]]
Middleware = Callable[[Handler, Incoming, dict[str, Any]], Awaitable[Reply | None]]
ProfileLookup = Callable[[str, str], Awaitable[dict[str, Any]]]  # (tenant, user id) -> LINE profile (bot.line)


class Parse(Protocol):
    """What the router reads of an NLU parse (nlu.port.Parse)."""

    @property
    def intent(self) -> str | None: ...


@dataclass(frozen=True)
class ButtonParse:
    """The parse of a text one of the bot's buttons sent (``bot.messages.button_intent``): certain, no NLU asked."""

    intent: str
    confidence: float = 1.0
    source: str = "button"
    entities: tuple[object, ...] = ()


class NluPort(Protocol):
    async def parse(self, text: str) -> Parse: ...


class Assessment(Protocol):
    """The crisis layer's verdict on one message (nlu.risk.RiskAssessment): level crisis | concern | none."""

    @property
    def level(self) -> str: ...

    @property
    def category(self) -> str | None: ...

    @property
    def severity(self) -> str | None: ...

    @property
    def language(self) -> str | None: ...

    @property
    def signals(self) -> tuple[str, ...]: ...


class CrisisPort(Protocol):
    """The crisis layer (nlu.crisis_layer.CrisisLayer): three-level assessment of every text in its conversation,
    and the first replies in the resident's language."""

    async def assess(self, incoming: Incoming) -> Assessment: ...

    def assess_text(self, text: str) -> Assessment: ...

    def reply_language(self, assessment: Assessment, profile_language: str) -> str: ...

    def messages(self, assessment: Assessment, tenant: Tenant, language: str) -> Reply: ...

    def queued(self, language: str) -> Reply: ...

    def fine(self, language: str) -> Reply: ...


class Room(Protocol):
    """A feature room. Every method answers None (or does nothing) for what is not the room's business."""

    name: str  # the postback namespace: ``room=<name>&action=...`` (bot.chat.postback_data)

    async def on_text(self, incoming: Incoming, parse: Parse | None) -> Reply | None: ...

    async def on_postback(self, incoming: Incoming, data: dict[str, str]) -> Reply | None: ...

    async def on_location(self, incoming: Incoming) -> Reply | None: ...

    async def on_unfollow(self, tenant_id: str, user_id: str) -> None: ...


class CounsellorRoom(Room, Protocol):
    """The handoff room: besides being a room, it holds conversations, takes crisis escalations and offers a person
    when the bot keeps failing."""

    async def is_held(self, tenant_id: str, user_id: str) -> bool: ...

    async def on_resident_message(self, incoming: Incoming, assessment: Assessment | None) -> Reply | None: ...

    async def request_from_crisis(self, incoming: Incoming, assessment: Assessment | None) -> Reply: ...

    async def on_unanswered(self, incoming: Incoming) -> Reply | None: ...


class SessionRoom(Room, Protocol):
    """A room that holds a multi-step conversation (a report being written): ``on_event`` sees the resident's texts,
    images and locations before the NLU and the other rooms, and answers None when the resident is not in one."""

    async def on_event(self, incoming: Incoming) -> Reply | None: ...


@dataclass
class Rooms:
    """What the router talks to. ``handoff`` answers texts first; the included rooms follow in include order."""

    nlu: NluPort | None = None
    crisis: CrisisPort | None = None
    handoff: CounsellorRoom | None = None
    included: list[Room] = field(default_factory=list)
    sessions: list[SessionRoom] = field(default_factory=list)  # also in ``included``; asked first (``on_event``)

    def all(self) -> list[Room]:
        return [self.handoff, *self.included] if self.handoff is not None else list(self.included)

    def named(self, name: str) -> Room | None:
        return next((room for room in self.all() if room.name == name), None)


class Dispatcher:
    def __init__(self, users: UserStore, rooms: Rooms, middlewares: list[Middleware] | None = None) -> None:
        self.users = users
        self.rooms = rooms
        self.middlewares: list[Middleware] = middlewares if middlewares is not None else default_middlewares()

    def include(self, room: Room) -> None:
        """Plug a room in (aiogram's ``dispatcher.include_router``): it sees texts after the rooms included before."""
        if any(r.name == room.name for r in self.rooms.all()):
            raise ValueError(f"a room named {room.name!r} is already included")
        self.rooms.included.append(room)

    def include_session(self, room: SessionRoom) -> None:
        """Plug in a room that holds multi-step conversations: it gets every event first while one is open."""
        self.include(room)
        self.rooms.sessions.append(room)

    async def is_held(self, incoming: Incoming) -> bool:
        """The one place that asks whether a counsellor holds (or has queued) this resident's conversation."""
        handoff = self.rooms.handoff
        return handoff is not None and await handoff.is_held(incoming.tenant.id, incoming.user_id)

    async def left(self, tenant_id: str, user_id: str) -> None:
        """The resident unfollowed: every room forgets what it keeps for them."""
        for room in self.rooms.all():
            await room.on_unfollow(tenant_id, user_id)

    async def process(self, incoming: Incoming) -> Reply:
        handler: Handler = self._route
        for mw in reversed(self.middlewares):
            handler = _bind(mw, handler)
        data: dict[str, Any] = {"rooms": self.rooms, "users": self.users, "dispatcher": self}
        return (await handler(incoming, data)) or []

    async def _route(self, incoming: Incoming, data: dict[str, Any]) -> Reply | None:
        rooms = self.rooms
        city = incoming.tenant.display_name
        lang = incoming.language
        offered = incoming.tenant.languages

        def reply(key: str, **kw: str) -> Reply:
            return [menu_text(key, lang, offered, **kw)]

        if incoming.kind == "follow":
            return reply("welcome", city=city)
        if incoming.kind == "unfollow":
            return None
        for session in rooms.sessions:
            out = await session.on_event(incoming)
            if out is not None:
                return out
        if incoming.kind == "postback":
            target = rooms.named(incoming.postback.get("room", ""))
            if target is not None:
                out = await target.on_postback(incoming, incoming.postback)
                if out is not None:
                    return out
            return reply("not_yet")
        if incoming.kind == "location":
            for room in rooms.all():
                out = await room.on_location(incoming)
                if out is not None:
                    return out
            return reply("not_yet")
        if incoming.kind == "text" and incoming.text:
            parse = data.get("parse")
            if parse is None:
                button = button_intent(incoming.text)  # the bot's own buttons, in any language: no guessing
                if button is not None:
                    parse = ButtonParse(button)
                elif rooms.nlu is not None:
                    parse = await rooms.nlu.parse(incoming.text)
                data["parse"] = parse
            intent = getattr(parse, "intent", None)
            if intent in _SMALL_TALK:  # answered by the bot itself, with the main menu
                return reply(_SMALL_TALK[intent], city=city)
            for room in rooms.all():
                out = await room.on_text(incoming, parse)
                if out is not None:
                    return out
            if rooms.handoff is not None:
                out = await rooms.handoff.on_unanswered(incoming)
                if out is not None:
                    return out
            return reply("not_yet")
        return reply("unsupported")


def _bind(mw: Middleware, handler: Handler) -> Handler:
    async def bound(incoming: Incoming, data: dict[str, Any]) -> Reply | None:
        return await mw(handler, incoming, data)

    return bound


async def user_middleware(handler: Handler, incoming: Incoming, data: dict[str, Any]) -> Reply | None:
    """Load (or create) the resident; unfollow marks them inactive so nothing is ever pushed again."""
    users: UserStore = data["users"]
    tenant = incoming.tenant.id
    user = await users.get(tenant, incoming.user_id)
    if incoming.kind == "unfollow":
        await users.set_active(tenant, incoming.user_id, False)
        dispatcher: Dispatcher = data["dispatcher"]
        await dispatcher.left(tenant, incoming.user_id)
        return await handler(incoming, data)
    if user is None or not user.active or incoming.kind == "follow":
        user = user or User(tenant=tenant, user_id=incoming.user_id)
        user.active = True
        await users.save(user)
    incoming.language = user.language or "ja"
    data["user"] = user
    return await handler(incoming, data)


def profile_language_middleware(profile: ProfileLookup) -> Middleware:
    """On follow, the resident's language is their LINE profile's (``bot.i18n.from_line``), so the welcome and every
    later text come in it; a failing profile call keeps the stored language. Runs right after ``user_middleware``."""

    async def profile_language(handler: Handler, incoming: Incoming, data: dict[str, Any]) -> Reply | None:
        user: User | None = data.get("user")
        if incoming.kind == "follow" and user is not None:
            try:
                language = i18n.from_line((await profile(incoming.tenant.id, incoming.user_id)).get("language"))
            except Exception:  # noqa: BLE001 - the welcome must not fail because the profile did
                log.warning("profile language not read", extra={"tenant": incoming.tenant.id})
                language = None
            if language and language != user.language:
                user.language = language
                users: UserStore = data["users"]
                await users.save(user)
            incoming.language = user.language or "ja"
        return await handler(incoming, data)

    return profile_language


async def held_middleware(handler: Handler, incoming: Incoming, data: dict[str, Any]) -> Reply | None:
    """While a counsellor holds the conversation the bot stays silent: the message goes to the counsellor."""
    dispatcher: Dispatcher = data["dispatcher"]
    handoff = dispatcher.rooms.handoff
    if handoff is None or incoming.kind not in ("text", "postback", "location", "image", "sticker", "other"):
        return await handler(incoming, data)
    if await dispatcher.is_held(incoming):
        crisis = dispatcher.rooms.crisis
        assessment = crisis.assess_text(incoming.text) if (crisis is not None and incoming.text) else None
        flagged = assessment if assessment is not None and assessment.level == "crisis" else None
        out = await handoff.on_resident_message(incoming, flagged)
        if flagged is not None:
            log.warning("crisis signal in held conversation", extra={"tenant": incoming.tenant.id, "category": flagged.category})
        return out or []
    return await handler(incoming, data)


async def crisis_middleware(handler: Handler, incoming: Incoming, data: dict[str, Any]) -> Reply | None:
    """People in danger first: three-level check on every text, before (and independent of) the NLU.

    crisis → hotlines in the resident's language, then the top of the counsellor queue; concern → a short check-in
    naming two lines and offering a person, queued at high priority. Either way no FAQ or other room answers.
    """
    rooms: Rooms = data["rooms"]
    if rooms.crisis is None:
        return await handler(incoming, data)
    if incoming.kind == "postback" and incoming.postback.get("room") == "crisis":
        return await _crisis_postback(incoming, rooms.crisis, rooms.handoff)
    if incoming.kind != "text" or not incoming.text:
        return await handler(incoming, data)
    assessment = await rooms.crisis.assess(incoming)
    data["risk"] = assessment
    if assessment.level == "none":
        return await handler(incoming, data)
    language = rooms.crisis.reply_language(assessment, incoming.language)
    log.warning(
        "crisis layer: %s",
        assessment.level,
        extra={
            "tenant": incoming.tenant.id,
            "level": assessment.level,
            "category": assessment.category,
            "language": language,
            "signals": ",".join(assessment.signals),
        },
    )
    messages = rooms.crisis.messages(assessment, incoming.tenant, language)
    if rooms.handoff is not None:
        try:
            queued = await rooms.handoff.request_from_crisis(dataclasses.replace(incoming, language=language), assessment)
            if language in ("ja", "ja-easy"):  # others: the crisis reply's own offer of a counsellor (its quick replies)
                messages += queued
        except Exception:  # the hotline reply must go out even if the queue is down
            log.exception("could not queue crisis handoff", extra={"tenant": incoming.tenant.id})
    return messages[:5]


async def _crisis_postback(incoming: Incoming, crisis: CrisisPort, handoff: CounsellorRoom | None) -> Reply:
    """The crisis reply's quick replies: talk to a person (queued at high priority) or "I'm OK"."""
    language = incoming.postback.get("lang") or incoming.language
    if incoming.postback.get("action") == "talk" and handoff is not None:
        queued = await handoff.request_from_crisis(dataclasses.replace(incoming, language=language), None)
        return queued if language in ("ja", "ja-easy") else crisis.queued(language)
    return crisis.fine(language)


def default_middlewares(profile: ProfileLookup | None = None) -> list[Middleware]:
    """user → (profile language, when the root passes the LINE profile lookup) → held → crisis."""
    languages = [profile_language_middleware(profile)] if profile is not None else []
    return [user_middleware, *languages, held_middleware, crisis_middleware]


class NluMetrics(Protocol):
    """What MeteredNlu counts (kpi.metrics.Metrics implements it)."""

    def nlu_parsed(self, seconds: float, backend: str = "rasa") -> None: ...

    def nlu_fallback(self, reason: str) -> None: ...


class MeteredNlu:
    """Wraps the NLU port: parse latency by backend, and a fallback count when Rasa did not answer."""

    def __init__(self, inner: NluPort, metrics: NluMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def parse(self, text: str) -> Parse:
        started = time.perf_counter()
        parse = await self._inner.parse(text)
        source = getattr(parse, "source", "unknown")
        self._metrics.nlu_parsed(time.perf_counter() - started, source)
        if source == "fallback":
            self._metrics.nlu_fallback("rasa_unavailable")
        return parse
