"""Crisis review vocabulary: a counsellor's mark on one resident message, the supervisor's decision, and the small
port of the crisis detector this room needs (``assess(text)`` → level / category / language).

A mark says either "the bot missed a crisis here" (``missed``, with a category) or "this was not a crisis"
(``not_crisis``). A supervisor confirms it (optionally correcting the category) or rejects it; the decision fixes
the item's ``label``: a crisis category, or ``none``. Only decided items count in the audit and the export.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.router import Assessment

CATEGORIES: tuple[str, ...] = (
    "suicide",
    "self_harm",
    "dv",
    "child_abuse",
    "elder_abuse",
    "sexual_violence",
    "stalking",
    "danger",
)
CATEGORY_LABELS: dict[str, str] = {
    "suicide": "自殺念慮",
    "self_harm": "自傷",
    "dv": "DV",
    "child_abuse": "子どもへの虐待",
    "elder_abuse": "高齢者への虐待",
    "sexual_violence": "性暴力",
    "stalking": "ストーカー",
    "danger": "差し迫った危険",
    "none": "危険ではない",
}
LEVELS: tuple[str, ...] = ("crisis", "concern", "none")
NO_LABEL = "none"
UNKNOWN_LANGUAGE = "und"  # BCP 47 "undetermined": the detector did not say

Verdict = Literal["missed", "not_crisis"]
Status = Literal["pending", "confirmed", "rejected"]
VERDICTS: tuple[str, ...] = ("missed", "not_crisis")


class Assessor(Protocol):
    """The in-process crisis detector (``nlu.risk.RiskAssessor`` satisfies it)."""

    def assess(self, text: str) -> Assessment: ...  # the router's crisis verdict (level, category, language)


class ReviewError(ValueError):
    """A mark or decision that cannot be accepted (unknown category, already decided, ...)."""


@dataclass(frozen=True)
class ReviewItem:
    id: str
    tenant: str
    conversation_ref: str  # pseudonymous: a hash of the consultation id, not the LINE user id
    message_ref: str
    text: str  # the resident's words: shown to supervisors, exported with consent, never logged
    verdict: str  # missed | not_crisis
    category: str | None  # the counsellor's category for ``missed``
    bot_level: str  # crisis | concern | none: what the detector said about this text when it was marked
    bot_category: str | None
    language: str  # detected language (BCP 47) or "und"
    marked_by: str
    marked_at: float
    status: str = "pending"  # pending | confirmed | rejected
    label: str = ""  # after the decision: a crisis category, or "none"
    reviewed_by: str = ""
    reviewed_at: float = 0.0


def item_id(tenant: str, conversation_id: str, message_id: str) -> str:
    """One item per resident message: marking the same message again replaces the pending mark."""
    return hashlib.sha256(f"{tenant}:{conversation_id}:{message_id}".encode()).hexdigest()[:20]


def conversation_ref(tenant: str, conversation_id: str) -> str:
    return "c-" + hashlib.sha256(f"review:{tenant}:{conversation_id}".encode()).hexdigest()[:12]


def decided_label(item: ReviewItem, decision: str, category: str | None) -> str:
    """The training label a decision gives: a supervisor confirming a missed crisis (or rejecting a "not a crisis"
    mark) says the message *was* a crisis of ``category`` (or the one already on the item); anything else is none."""
    if decision not in ("confirmed", "rejected"):
        raise ReviewError(f"unknown decision {decision!r}")
    if category is not None and category not in CATEGORIES:
        raise ReviewError(f"unknown category {category!r}")
    is_crisis = (item.verdict == "missed") == (decision == "confirmed")
    if not is_crisis:
        return NO_LABEL
    chosen = category or (item.category if item.verdict == "missed" else item.bot_category)
    if chosen not in CATEGORIES:
        raise ReviewError("choose the category of the crisis")
    return chosen
