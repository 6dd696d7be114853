"""Adapter: the router's crisis layer (assess + first-reply messages) over nlu.crisis."""

from __future__ import annotations

from nlu.crisis import CrisisAssessment, CrisisDetector, hotline_messages

from bot.config import Tenant


class CrisisLayer:
    def __init__(self, detector: CrisisDetector) -> None:
        self._detector = detector

    def assess(self, text: str) -> CrisisAssessment | None:
        return self._detector.assess(text)

    def messages(self, assessment: CrisisAssessment, tenant: Tenant, language: str) -> list[dict]:
        return hotline_messages(assessment.category, assessment.severity, tenant.hotlines, language)
