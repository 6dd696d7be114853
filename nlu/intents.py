"""Intent names (the contract between nlu/data/nlu.yml, Rasa and the router) and how the router treats them.

The router reads: ``FAQ_TOPICS`` (answer from the FAQ room, topic label as a filter), ``CONSULTATIONS`` (offer a
counsellor; ``CONSULTATION_ROUTES`` gives the queue and risk level) and ``CONTROL`` (subscription and chat commands).
``FALLBACK_INTENT`` means "not sure": never guess, ask again or offer the menu.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FALLBACK_INTENT = "nlu_fallback"  # what Rasa's FallbackClassifier emits; FallbackNlu uses the same name
OUT_OF_SCOPE = "out_of_scope"

# intent -> topic label (Japanese, as shown to residents and used as FAQ category)
FAQ_TOPICS: dict[str, str] = {
    "faq_garbage": "ごみ・リサイクル",
    "faq_registry": "住民票・戸籍・マイナンバー",
    "faq_tax": "税",
    "faq_insurance_pension": "国保・年金",
    "faq_childcare": "子育て・保育",
    "faq_elderly_care": "介護・高齢者",
    "faq_disability": "障がい福祉",
    "faq_health": "健康・検診",
    "faq_disaster": "防災・避難",
    "faq_crime_prevention": "防犯",
    "faq_housing": "住まい",
    "faq_transport": "交通",
    "faq_facilities": "施設・手続き一般",
}

Risk = Literal["medium", "high"]


@dataclass(frozen=True)
class ConsultationRoute:
    """Where a consultation goes in the counsellor queue and how urgently."""

    label: str  # shown to residents and staff
    queue: str  # counsellor-queue category
    risk: Risk  # high: offer hotlines at once and put the handoff ahead of medium ones
    crisis_category: str | None = None  # the crisis-layer category this consultation belongs to, if any


CONSULTATION_ROUTES: dict[str, ConsultationRoute] = {
    "consult_parenting": ConsultationRoute("子育ての悩み", "parenting", "medium"),
    "consult_poverty": ConsultationRoute("生活困窮", "livelihood", "medium"),
    "consult_caregiving": ConsultationRoute("介護の悩み", "caregiving", "medium"),
    "consult_dv": ConsultationRoute("DV", "dv", "high", "dv"),
    "consult_bullying": ConsultationRoute("いじめ・学校", "school", "medium"),
    "consult_child_abuse": ConsultationRoute("児童虐待", "child_abuse", "high", "child_abuse"),
    "consult_mental": ConsultationRoute("こころの不調・自殺念慮", "mental_health", "high", "suicide"),
    "consult_sexual_violence": ConsultationRoute("性被害", "sexual_violence", "high", "sexual_violence"),
}
CONSULTATIONS: dict[str, str] = {name: route.label for name, route in CONSULTATION_ROUTES.items()}

CONTROL: dict[str, str] = {
    "register": "登録",
    "change_area": "地域変更",
    "stop_notifications": "通知停止",
    "change_language": "言語変更",
    "talk_to_human": "人と話したい",
    "greet": "挨拶",
    "thanks": "お礼",
    "help": "ヘルプ",
    OUT_OF_SCOPE: "対象外",
}

ALL_INTENTS: tuple[str, ...] = (*FAQ_TOPICS, *CONSULTATIONS, *CONTROL)

Group = Literal["faq", "consultation", "control", "fallback"]


def group_of(intent: str) -> Group:
    if intent in FAQ_TOPICS:
        return "faq"
    if intent in CONSULTATIONS:
        return "consultation"
    if intent in CONTROL:
        return "control"
    return "fallback"


def is_unknown(intent: str) -> bool:
    """Not sure or not ours: the router asks again / shows the menu instead of guessing."""
    return intent in (FALLBACK_INTENT, OUT_OF_SCOPE) or intent not in ALL_INTENTS
