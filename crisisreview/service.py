"""Crisis review service functions: mark (console), decide (supervisors), audit and export (CLI).

Resident text is data here, never a log line: nothing in this room logs an item's text.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from crisisreview.model import (
    CATEGORIES,
    CATEGORY_LABELS,
    NO_LABEL,
    UNKNOWN_LANGUAGE,
    VERDICTS,
    Assessor,
    ReviewError,
    ReviewItem,
    conversation_ref,
    decided_label,
    item_id,
)
from crisisreview.store import CrisisReviewStore

DAY = 86400
MAX_TEXT = 2000


class ConsentRequired(ReviewError):
    """The tenant has not agreed to its reviewed messages being used as training data."""


@dataclass
class ReviewDeps:
    store: CrisisReviewStore
    assessor: Assessor
    clock: Callable[[], float] = field(default=time.time)


async def mark_message(
    deps: ReviewDeps,
    *,
    tenant: str,
    conversation_id: str,
    message_id: str,
    text: str,
    verdict: str,
    category: str | None,
    marked_by: str,
    retention_days: int,
) -> ReviewItem:
    """A counsellor's mark on one resident message. The detector is asked now what it makes of the text (the
    handoff transcript does not keep the per-message signal), so ``bot_level`` is the detector's view at marking."""
    if verdict not in VERDICTS:
        raise ReviewError(f"unknown mark {verdict!r}")
    if verdict == "missed" and category not in CATEGORIES:
        raise ReviewError("choose the category of the crisis the bot missed")
    if verdict == "not_crisis":
        category = None
    if not text.strip():
        raise ReviewError("only a resident's text message can be marked")
    if retention_days <= 0:
        raise ReviewError("retention_days must be positive")
    assessment = deps.assessor.assess(text)
    item = ReviewItem(
        id=item_id(tenant, conversation_id, message_id),
        tenant=tenant,
        conversation_ref=conversation_ref(tenant, conversation_id),
        message_ref=message_id,
        text=text[:MAX_TEXT],
        verdict=verdict,
        category=category,
        bot_level=assessment.level,
        bot_category=assessment.category if assessment.level != "none" else None,
        language=assessment.language or UNKNOWN_LANGUAGE,
        marked_by=marked_by,
        marked_at=deps.clock(),
    )
    if not await deps.store.mark(item, ttl_seconds=retention_days * DAY):
        raise ReviewError("この発言はスーパーバイザーが確認済みです。")
    return item


async def decide(deps: ReviewDeps, tenant: str, item_id_: str, decision: str, category: str | None, reviewer: str) -> ReviewItem:
    """Confirm or reject a pending mark (``category`` corrects the crisis category); raises LookupError if the item
    is missing or already decided, ReviewError if the decision is incomplete."""
    item = await deps.store.get(tenant, item_id_)
    if item is None or item.status != "pending":
        raise LookupError("no such pending item")
    label = decided_label(item, decision, category or None)
    decided = await deps.store.decide(tenant, item_id_, decision, label, reviewer, deps.clock())
    if decided is None:
        raise LookupError("no such pending item")  # decided by someone else meanwhile
    return decided


class ConsoleMarks:
    """The console's crisis-mark port (``handoff.web.CrisisMarks``) over this room's service."""

    def __init__(self, deps: ReviewDeps) -> None:
        self._deps = deps

    def categories(self) -> list[tuple[str, str]]:
        return [(c, CATEGORY_LABELS[c]) for c in CATEGORIES]

    async def mark(
        self,
        tenant: str,
        conversation_id: str,
        message_id: str,
        text: str,
        verdict: str,
        category: str | None,
        marked_by: str,
        retention_days: int,
    ) -> dict[str, Any]:
        item = await mark_message(
            self._deps,
            tenant=tenant,
            conversation_id=conversation_id,
            message_id=message_id,
            text=text,
            verdict=verdict,
            category=category,
            marked_by=marked_by,
            retention_days=retention_days,
        )
        return {"id": item.id, "verdict": item.verdict, "category": item.category, "bot_level": item.bot_level}


# -- audit ------------------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    crisis: int = 0  # reviewed items whose label is a crisis category
    hit_crisis: int = 0  # ... that the detector put at level crisis
    hit_any: int = 0  # ... at crisis or concern
    everyday: int = 0  # reviewed items labelled none
    alarms: int = 0  # ... that the detector put at crisis or concern
    crisis_alarms: int = 0  # ... at crisis

    def add(self, positive: bool, level: str) -> None:
        if positive:
            self.crisis += 1
            self.hit_crisis += level == "crisis"
            self.hit_any += level in ("crisis", "concern")
        else:
            self.everyday += 1
            self.alarms += level in ("crisis", "concern")
            self.crisis_alarms += level == "crisis"

    def figures(self) -> dict[str, Any]:
        def rate(n: int, d: int) -> float | None:
            return round(n / d, 4) if d else None

        return {
            "crisis_items": self.crisis,
            "recall_crisis": rate(self.hit_crisis, self.crisis),
            "recall_crisis_or_concern": rate(self.hit_any, self.crisis),
            "none_items": self.everyday,
            "alarm_rate": rate(self.alarms, self.everyday),
            "crisis_alarm_rate": rate(self.crisis_alarms, self.everyday),
        }


def _breakdown(items: list[ReviewItem], levels: list[str]) -> dict[str, Any]:
    overall = _Tally()
    by_category: dict[str, _Tally] = defaultdict(_Tally)
    by_language: dict[str, _Tally] = defaultdict(_Tally)
    for item, level in zip(items, levels):
        positive = item.label != NO_LABEL
        for tally in (overall, by_category[item.label], by_language[item.language]):
            tally.add(positive, level)
    return {
        "overall": overall.figures(),
        "by_category": {k: by_category[k].figures() for k in sorted(by_category)},
        "by_language": {k: by_language[k].figures() for k in sorted(by_language)},
    }


def audit(items: Iterable[ReviewItem], assessor: Assessor) -> dict[str, Any]:
    """Recall (crisis, crisis-or-concern) and alarm rates on the decided items: of the detector as it is now (the
    text is assessed again) and as it was when each message was marked. Pending items do not count."""
    decided = [i for i in items if i.status in ("confirmed", "rejected") and i.label]
    return {
        "reviewed": len(decided),
        "current": _breakdown(decided, [assessor.assess(i.text).level for i in decided]),
        "at_the_time": _breakdown(decided, [i.bot_level for i in decided]),
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def audit_table(report: dict[str, Any]) -> str:
    """The audit as a small fixed-width table (one row per group, current detector then at the time)."""
    head = f"{'detector':<12}{'group':<24}{'crisis':>7}{'recall':>9}{'+concern':>10}{'none':>6}{'alarms':>9}{'crisis-al':>10}"
    lines = [f"reviewed items: {report['reviewed']}", head]
    for which in ("current", "at_the_time"):
        part = report[which]
        rows = [("overall", part["overall"])]
        rows += [(f"category:{k}", v) for k, v in part["by_category"].items()]
        rows += [(f"language:{k}", v) for k, v in part["by_language"].items()]
        for name, f in rows:
            lines.append(
                f"{which:<12}{name:<24}{f['crisis_items']:>7}{_pct(f['recall_crisis']):>9}{_pct(f['recall_crisis_or_concern']):>10}"
                f"{f['none_items']:>6}{_pct(f['alarm_rate']):>9}{_pct(f['crisis_alarm_rate']):>10}"
            )
    return "\n".join(lines)


# -- export -----------------------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def require_consent(consent: bool) -> None:
    if not consent:
        raise ConsentRequired(
            "this tenant has not consented to its reviewed messages being used as training data "
            "(set crisis_training_consent: true in the tenants file once the municipality has agreed)"
        )


def export_training(items: Iterable[ReviewItem], out: TextIO, *, consent: bool) -> int:
    """Decided items as training data, ``label<TAB>language<TAB>text`` per line (label ``none`` for messages that
    were not a crisis). Refuses unless the tenant consented (``crisis_training_consent`` in the tenants file)."""
    require_consent(consent)
    n = 0
    for item in sorted(items, key=lambda i: (i.reviewed_at, i.id)):
        if item.status in ("confirmed", "rejected") and item.label:
            out.write(f"{item.label}\t{item.language}\t{_one_line(item.text)}\n")
            n += 1
    return n
