"""The router's crisis port (bot.router.CrisisPort: assess + first-reply messages) over nlu.crisis.

Lives in nlu (a room) so that the core never imports a room: bot.router only knows the protocol."""

from __future__ import annotations

from bot.config import Tenant
from nlu.crisis import CrisisAssessment, CrisisDetector, hotline_messages


class CrisisLayer:
    def __init__(self, detector: CrisisDetector) -> None:
        self._detector = detector

    def assess(self, text: str) -> CrisisAssessment | None:
        return self._detector.assess(text)

    def messages(self, assessment: CrisisAssessment, tenant: Tenant, language: str) -> list[dict]:
        return hotline_messages(assessment.category, assessment.severity, tenant.hotlines, language)
