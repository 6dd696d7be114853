"""The handoff room as the router sees it (``bot.router.Rooms.handoff``): held conversations, 「人と話したい」,
consultation intents, repeated failures, and crisis escalations.

Wiring (composition root)::

    rooms.handoff = HandoffRoom(handoff_deps, consultation_routes=nlu.intents.CONSULTATION_ROUTES)

``consultation_routes`` maps intent → object with ``label``, ``queue`` and ``risk`` ("medium" | "high"); it is passed
in so that this room does not import the NLU room.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

import handoff.service as service
from bot import i18n
from bot.chat import Incoming, postback_data, qr_message, qr_postback, text
from handoff.service import HandoffDeps

TALK_TO_HUMAN = "talk_to_human"
# used when the NLU is down or unsure: the words people actually type when they want a person
HUMAN_WORDS = ("人と話したい", "人間と話したい", "相談員", "担当者", "オペレーター", "職員と話", "職員さんと話", "直接相談")
# counsellor-queue ids of the consultation routes → statistics categories (handoff.model.KPI_CATEGORIES)
QUEUE_STAT = {
    "mental_health": "suicide",
    "dv": "dv",
    "sexual_violence": "dv",
    "child_abuse": "child",
    "parenting": "child",
    "school": "child",
    "livelihood": "living",
    "caregiving": "living",
}
CATEGORY_JA = {"suicide": "自殺念慮", "self_harm": "自傷", "dv": "DV", "child_abuse": "児童虐待", "elder_abuse": "高齢者虐待",
               "sexual_violence": "性被害", "stalking": "つきまとい", "danger": "身の危険"}


def _norm(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


class HandoffRoom:
    name = "handoff"

    def __init__(
        self,
        deps: HandoffDeps,
        *,
        consultation_routes: Mapping[str, Any] | None = None,
        unanswered_limit: int = 2,
        unanswered_window_seconds: int = 15 * 60,
    ) -> None:
        self.deps = deps
        self.routes = dict(consultation_routes or {})
        self.unanswered_limit = unanswered_limit
        self.unanswered_window_seconds = unanswered_window_seconds

    # -- held conversations (held_middleware) --------------------------------------------------------------------

    async def is_held(self, tenant_id: str, user_id: str) -> bool:
        return await service.is_held(self.deps, tenant_id, user_id)

    async def on_resident_message(self, incoming: Incoming, assessment: Any = None) -> list[dict]:
        """Into the transcript (the bot stays silent). Returns what to send — usually nothing; a queued resident gets
        an occasional "please wait", a cancel gets a confirmation. A crisis signal raises the conversation to crisis.

        A crisis signal while still *waiting* (nobody holds it yet, perhaps overnight) is not met with silence: the
        resident gets the 24-hour lines at once, as the crisis layer would have given them outside a consultation.
        """
        out = await service.on_resident_message(self.deps, incoming.tenant, incoming.user_id, incoming)
        if assessment is not None:
            conv = await self.deps.store.open_for_user(incoming.tenant.id, incoming.user_id)
            await service.raise_risk(self.deps, incoming.tenant.id, incoming.user_id, "crisis", CATEGORY_JA.get(assessment.category, assessment.category))
            if conv is not None and conv.status == "queued":
                lang = conv.language
                cancel = [qr_postback(service.say("cancel_label", lang), postback_data("handoff", "cancel"), service.say("cancel_label", lang))]
                return [
                    text(service.say("crisis_ack", lang)),
                    text(service.hotline_message(incoming.tenant, lang)["text"], cancel),
                ]
        return out

    # -- escalation -----------------------------------------------------------------------------------------------

    async def request_from_crisis(self, incoming: Incoming, assessment: Any) -> list[dict]:
        """The crisis layer already sent hotlines; queue and say what happens next.

        crisis → top of the queue; concern → high priority; None (the resident tapped "talk to a counsellor" under a
        crisis reply) → high priority as well.
        """
        level = getattr(assessment, "level", None)
        label = CATEGORY_JA.get(getattr(assessment, "category", None) or "", "相談")
        risk = "crisis" if level in ("crisis", None) and assessment is not None else "high"
        summary = {"crisis": f"危機の兆候（{label}）を検知", "concern": f"心配な兆候（{label}）— 声かけ済み"}.get(
            level or "", "危機対応の返信から「相談員と話したい」")
        answer = await service.request_handoff(
            self.deps,
            incoming.tenant,
            incoming.user_id,
            category=label,
            risk=risk,
            reason="crisis",
            summary=summary,
            resident_text=incoming.text,
            include_hotlines=False,
            stat_category="crisis",
            language=incoming.language,
        )
        return answer.messages

    async def on_text(self, incoming: Incoming, parse: Any) -> list[dict] | None:
        intent = getattr(parse, "intent", None)
        if intent == TALK_TO_HUMAN or (intent in (None, "nlu_fallback", "out_of_scope") and any(w in _norm(incoming.text or "") for w in HUMAN_WORDS)):
            await self.deps.store.reset_unanswered(incoming.tenant.id, incoming.user_id)
            answer = await service.request_handoff(
                self.deps, incoming.tenant, incoming.user_id, reason="request", summary="「人と話したい」", language=incoming.language
            )
            return answer.messages
        route = self.routes.get(intent or "")
        if route is None:
            return None
        if getattr(route, "risk", "medium") == "high":
            answer = await service.request_handoff(
                self.deps,
                incoming.tenant,
                incoming.user_id,
                category=route.label,
                risk="high",
                reason="intent",
                summary=f"{route.label}の相談",
                stat_category=self._stat(route),
                language=incoming.language,
            )
            return answer.messages
        lang = self._lang(incoming)
        topic = route.label if lang in ("ja", "ja-easy") else service.say("topic_general", lang)
        return [self.offer(service.say("offer_topic", lang, topic=topic), route.label, lang)]

    async def on_unanswered(self, incoming: Incoming) -> list[dict] | None:
        """After repeated failures to answer, offer a person instead of another 「わかりません」."""
        count = await self.deps.store.bump_unanswered(incoming.tenant.id, incoming.user_id, self.unanswered_window_seconds, self.deps.clock())
        if count < self.unanswered_limit:
            return None
        await self.deps.store.reset_unanswered(incoming.tenant.id, incoming.user_id)
        lang = self._lang(incoming)
        return [self.offer(service.say("offer_unanswered", lang), "その他", lang)]

    @staticmethod
    def _lang(incoming: Incoming) -> str:
        return i18n.resolve(incoming.language, incoming.tenant.languages)

    @staticmethod
    def _stat(route: Any) -> str:
        return QUEUE_STAT.get(getattr(route, "queue", ""), "general")

    @staticmethod
    def offer(prompt: str, category: str, language: str = "ja") -> dict:
        def t(key: str) -> str:
            return service.say(key, language)

        return text(
            prompt,
            [
                qr_postback(t("talk_label"), postback_data("handoff", "request", category=category[:40]), t("talk_text")),
                qr_message(t("menu_label"), t("menu_text")),
            ],
        )

    async def on_postback(self, incoming: Incoming, data: dict[str, str]) -> list[dict] | None:
        action = data.get("action")
        if action == "request":
            category = data.get("category", "general")[:40]
            route = next((r for r in self.routes.values() if getattr(r, "label", None) == category), None)
            answer = await service.request_handoff(
                self.deps,
                incoming.tenant,
                incoming.user_id,
                category=category,
                reason="request",
                summary="相談員との会話を希望",
                stat_category=self._stat(route),
                language=incoming.language,
            )
            return answer.messages
        if action == "cancel":  # only reaches us when nothing is held any more
            return [text(service.say("nothing_open", self._lang(incoming)))]
        return None

    async def on_location(self, incoming: Incoming) -> list[dict] | None:
        return None

    async def on_unfollow(self, tenant_id: str, user_id: str) -> None:
        await service.resident_left(self.deps, tenant_id, user_id)
