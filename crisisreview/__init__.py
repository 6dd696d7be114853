"""Crisis review: counsellors mark resident messages the crisis detector missed or over-read, supervisors decide,
``civicbot triage audit`` measures the detector on the decided items and ``civicbot triage export`` hands them (with
the tenant's consent) to the next training run. Door: the service functions, the ``CrisisReviewStore`` port, the
console-mark adapter ``ConsoleMarks``, ``crisisreview.web.create_app`` and ``crisisreview.cli``."""

from crisisreview.model import CATEGORIES, Assessment, Assessor, ReviewError, ReviewItem
from crisisreview.service import (
    ConsentRequired,
    ConsoleMarks,
    ReviewDeps,
    audit,
    audit_table,
    decide,
    export_training,
    mark_message,
)
from crisisreview.store import CrisisReviewStore, MemoryCrisisReviewStore, RedisCrisisReviewStore

__all__ = [
    "CATEGORIES",
    "Assessment",
    "Assessor",
    "ConsentRequired",
    "ConsoleMarks",
    "CrisisReviewStore",
    "MemoryCrisisReviewStore",
    "RedisCrisisReviewStore",
    "ReviewDeps",
    "ReviewError",
    "ReviewItem",
    "audit",
    "audit_table",
    "decide",
    "export_training",
    "mark_message",
]
