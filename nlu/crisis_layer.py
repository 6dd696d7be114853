"""The router's crisis port (bot.router.CrisisPort) over nlu.risk: three levels, conversation context, replies.

Lives in nlu (a room) so that the core never imports a room: bot.router only knows the protocol. The detectors are in
``nlu/risk.py``; the reply texts and hotlines in ``nlu/crisis_reply.py``. This layer adds what needs the
conversation: the resident's recent risk scores (``nlu/risk_context.py``, numbers only) and the reply language (the
message's own language when it is clearly not the resident's profile language).
"""

from __future__ import annotations

from bot.chat import Incoming
from bot.config import Tenant
from bot.router import Assessment, Reply
from nlu.crisis_reply import CrisisReplies
from nlu.language import reply_language
from nlu.risk import RiskAssessment, RiskAssessor
from nlu.risk_context import RiskContextStore


class CrisisLayer:
    def __init__(self, assessor: RiskAssessor, context: RiskContextStore, replies: CrisisReplies) -> None:
        self.assessor = assessor
        self.context = context
        self.replies = replies

    async def assess(self, incoming: Incoming) -> RiskAssessment:
        """Assess a text message in its conversation, and remember its score (not its text) for the next one."""
        tenant, user = incoming.tenant.id, incoming.user_id
        recent = await self.context.recent(tenant, user, incoming.timestamp_ms)
        assessment = self.assessor.assess(incoming.text or "", recent)
        await self.context.remember(tenant, user, assessment.risk, incoming.timestamp_ms)
        return assessment

    def assess_text(self, text: str) -> RiskAssessment:
        return self.assessor.assess(text)

    def reply_language(self, assessment: Assessment, profile_language: str) -> str:
        """The message's language when it is clearly another one than the profile's; やさしい日本語 is kept."""
        return reply_language(assessment.language, profile_language)

    def messages(self, assessment: Assessment, tenant: Tenant, language: str) -> Reply:
        if assessment.level == "crisis":
            return self.replies.crisis(assessment.category or "suicide", assessment.severity or "high", language,
                                       tenant.hotlines)
        if assessment.level == "concern":
            return self.replies.concern(assessment.category or "suicide", language, tenant.hotlines)
        return []

    def queued(self, language: str) -> Reply:
        return self.replies.queued(language)

    def fine(self, language: str) -> Reply:
        return self.replies.fine(language)
