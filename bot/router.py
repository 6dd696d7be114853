"""The chat router: one resident event in, LINE messages out.

Cross-cutting concerns are middlewares (aiogram style: ``async def mw(handler, incoming, data)``), in this order:
user loading → counsellor-held conversations (bot silent) → crisis layer → routing to the rooms.
Rooms are optional so that the bot runs (honestly) before every room exists; the composition root passes them in.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.chat import Incoming
from bot.messages import menu_text
from bot.users import User, UserStore

log = logging.getLogger("civicbot.router")

_SMALL_TALK = {"greet": "greeting", "thanks": "thanks", "help": "help"}  # nlu intent -> bot.messages text

Handler = Callable[[Incoming, dict[str, Any]], Awaitable[list[dict] | None]]
Middleware = Callable[[Handler, Incoming, dict[str, Any]], Awaitable[list[dict] | None]]


@dataclass
class Rooms:
    """Optional collaborators, wired by the composition root. Rooms answer ``on_text(incoming, parse)`` and
    ``on_postback(incoming, data)`` (alerts also ``on_location``, handoff its held/crisis hooks); None = not mine."""

    nlu: Any = None  # nlu port: async parse(text) -> Parse
    crisis: Any = None  # bot.crisis.CrisisLayer: three-level assessment with context, first replies
    faq: Any = None
    alerts: Any = None
    handoff: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class Dispatcher:
    def __init__(self, users: UserStore, rooms: Rooms, middlewares: list[Middleware] | None = None) -> None:
        self.users = users
        self.rooms = rooms
        self.middlewares: list[Middleware] = middlewares if middlewares is not None else default_middlewares()

    async def process(self, incoming: Incoming) -> list[dict]:
        handler: Handler = self._route
        for mw in reversed(self.middlewares):
            handler = _bind(mw, handler)
        data: dict[str, Any] = {"rooms": self.rooms, "users": self.users}
        return (await handler(incoming, data)) or []

    async def _route(self, incoming: Incoming, data: dict[str, Any]) -> list[dict] | None:
        rooms = self.rooms
        city = incoming.tenant.display_name
        lang = incoming.language
        if incoming.kind == "follow":
            return [menu_text("welcome", lang, city=city)]
        if incoming.kind == "unfollow":
            return None
        if incoming.kind == "postback":
            room = incoming.postback.get("room", "")
            target = {"faq": rooms.faq, "alerts": rooms.alerts, "handoff": rooms.handoff}.get(room) or rooms.extra.get(room)
            if target is not None:
                out = await target.on_postback(incoming, incoming.postback)
                if out is not None:
                    return out
            return [menu_text("not_yet", lang)]
        if incoming.kind == "location":
            if rooms.alerts is not None:
                out = await rooms.alerts.on_location(incoming)
                if out is not None:
                    return out
            return [menu_text("not_yet", lang)]
        if incoming.kind == "text" and incoming.text:
            parse = data.get("parse")
            if parse is None and rooms.nlu is not None:
                parse = await rooms.nlu.parse(incoming.text)
                data["parse"] = parse
            intent = getattr(parse, "intent", None)
            if intent in _SMALL_TALK:  # answered by the bot itself, with the main menu
                return [menu_text(_SMALL_TALK[intent], lang, city=city)]
            for room in (rooms.handoff, rooms.alerts, *rooms.extra.values(), rooms.faq):
                if room is None:
                    continue
                out = await room.on_text(incoming, parse)
                if out is not None:
                    return out
            if rooms.handoff is not None:
                out = await rooms.handoff.on_unanswered(incoming)
                if out is not None:
                    return out
            return [menu_text("not_yet", lang)]
        return [menu_text("unsupported", lang)]


def _bind(mw: Middleware, handler: Handler) -> Handler:
    async def bound(incoming: Incoming, data: dict[str, Any]) -> list[dict] | None:
        return await mw(handler, incoming, data)

    return bound


async def user_middleware(handler: Handler, incoming: Incoming, data: dict[str, Any]) -> list[dict] | None:
    """Load (or create) the resident; unfollow marks them inactive so nothing is ever pushed again."""
    users: UserStore = data["users"]
    tenant = incoming.tenant.id
    user = await users.get(tenant, incoming.user_id)
    if incoming.kind == "unfollow":
        await users.set_active(tenant, incoming.user_id, False)
        rooms: Rooms = data["rooms"]
        for room in (rooms.alerts, rooms.handoff):
            if room is not None and hasattr(room, "on_unfollow"):
                await room.on_unfollow(tenant, incoming.user_id)
        return await handler(incoming, data)
    if user is None or not user.active or incoming.kind == "follow":
        user = user or User(tenant=tenant, user_id=incoming.user_id)
        user.active = True
        await users.save(user)
    incoming.language = user.language or "ja"
    data["user"] = user
    return await handler(incoming, data)


async def held_middleware(handler: Handler, incoming: Incoming, data: dict[str, Any]) -> list[dict] | None:
    """While a counsellor holds the conversation the bot stays silent: the message goes to the counsellor."""
    handoff = data["rooms"].handoff
    if handoff is None or incoming.kind not in ("text", "postback", "location", "image", "sticker", "other"):
        return await handler(incoming, data)
    if await handoff.is_held(incoming.tenant.id, incoming.user_id):
        crisis = data["rooms"].crisis
        assessment = crisis.assess_text(incoming.text) if (crisis is not None and incoming.text) else None
        flagged = assessment if assessment is not None and assessment.level == "crisis" else None
        out = await handoff.on_resident_message(incoming, flagged)
        if flagged is not None:
            log.warning("crisis signal in held conversation",
                        extra={"tenant": incoming.tenant.id, "category": flagged.category})
        return out or []
    return await handler(incoming, data)


async def crisis_middleware(handler: Handler, incoming: Incoming, data: dict[str, Any]) -> list[dict] | None:
    """People in danger first: three-level check on every text, before (and independent of) the NLU.

    crisis → hotlines in the resident's language, then the top of the counsellor queue; concern → a short check-in
    naming two lines and offering a person, queued at high priority. Either way no FAQ or other room answers.
    """
    rooms: Rooms = data["rooms"]
    if rooms.crisis is None:
        return await handler(incoming, data)
    if incoming.kind == "postback" and incoming.postback.get("room") == "crisis":
        return await _crisis_postback(incoming, rooms)
    if incoming.kind != "text" or not incoming.text:
        return await handler(incoming, data)
    assessment = await rooms.crisis.assess(incoming)
    data["risk"] = assessment
    if assessment.level == "none":
        return await handler(incoming, data)
    language = rooms.crisis.reply_language(assessment, incoming.language)
    log.warning(
        "crisis layer: %s", assessment.level,
        extra={"tenant": incoming.tenant.id, "level": assessment.level, "category": assessment.category,
               "language": language, "signals": ",".join(assessment.signals)},
    )
    messages = rooms.crisis.messages(assessment, incoming.tenant, language)
    if rooms.handoff is not None:
        try:
            queued = await rooms.handoff.request_from_crisis(incoming, assessment)
            if language in ("ja", "ja-easy"):  # the queue's own texts are Japanese; others got theirs above
                messages += queued
        except Exception:  # the hotline reply must go out even if the queue is down
            log.exception("could not queue crisis handoff", extra={"tenant": incoming.tenant.id})
    return messages[:5]


async def _crisis_postback(incoming: Incoming, rooms: Rooms) -> list[dict]:
    """The crisis reply's quick replies: talk to a person (queued at high priority) or "I'm OK"."""
    language = incoming.postback.get("lang") or incoming.language
    if incoming.postback.get("action") == "talk" and rooms.handoff is not None:
        queued = await rooms.handoff.request_from_crisis(incoming, None)
        return queued if language in ("ja", "ja-easy") else rooms.crisis.replies.queued(language)
    return rooms.crisis.replies.fine(language)


def default_middlewares() -> list[Middleware]:
    return [user_middleware, held_middleware, crisis_middleware]



class MeteredNlu:
    """Wraps the NLU port: parse latency by backend, and a fallback count when Rasa did not answer."""

    def __init__(self, inner: Any, metrics: Any) -> None:
        self._inner = inner
        self._metrics = metrics

    async def parse(self, text: str) -> Any:
        import time

        started = time.perf_counter()
        parse = await self._inner.parse(text)
        source = getattr(parse, "source", "unknown")
        self._metrics.nlu_parsed(time.perf_counter() - started, source)
        if source == "fallback":
            self._metrics.nlu_fallback("rasa_unavailable")
        return parse
