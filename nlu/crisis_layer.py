"""The router's crisis port (bot.router.CrisisPort: assess + first-reply messages) over nlu.crisis.

Lives in nlu (a room) so that the core never imports a room: bot.router only knows the protocol."""

from __future__ import annotations

from typing import cast

from bot.config import Tenant
from bot.router import Assessment, Reply
from nlu.crisis import CrisisAssessment, CrisisDetector, hotline_messages


class CrisisLayer:
    def __init__(self, detector: CrisisDetector) -> None:
        self._detector = detector

    def assess(self, text: str) -> CrisisAssessment | None:
        return self._detector.assess(text)

    def messages(self, assessment: Assessment, tenant: Tenant, language: str) -> Reply:
        found = cast(CrisisAssessment, assessment)  # the router hands back what assess() returned
        return hotline_messages(found.category, found.severity, tenant.hotlines, language)
