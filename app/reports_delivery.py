"""The reports room's status notices over the delivery engine: each status change is one ``DeliveryJob`` whose
audience (``@reports:<report id>``) the engine resolves through ``ReportsAudience`` — the report's reporter and
followers in their languages — so a notice gets the engine's retry key, 429/5xx backoff and exactly-once settling
instead of a push that is given up after a few tries."""

from __future__ import annotations

from collections.abc import AsyncIterator

from bot.users import UserStore
from broadcasts.audience import AudienceQuery, Recipient, tagged
from broadcasts.jobs import Deliverer, DeliveryJob
from reports.service import StatusNotice, notice_audience
from reports.store import ReportStore

NOTICE_TAG = "@reports:"  # an audience category naming the report whose people hear about it


class EngineNotices:
    """``reports.service.StatusNotices`` over the delivery engine (routine lane: a notice waits behind alerts)."""

    def __init__(self, deliverer: Deliverer) -> None:
        self._deliverer = deliverer

    async def submit(self, notice: StatusNotice) -> str:
        job = DeliveryJob(
            tenant=notice.tenant,
            audience=AudienceQuery(tenant=notice.tenant, categories=(NOTICE_TAG + notice.report_id,)),
            messages=notice.messages,
            priority="routine",
            kind="reports:status",
            source_id=f"reports:{notice.key}",  # the same status change submitted again is the same job
            title=f"通報 {notice.report_id} の状況",
        )
        return await self._deliverer.submit(job)


class ReportsAudience:
    """``AudienceSource`` for status notices (``@reports:<id>``; routed here by ``AudienceRouter``)."""

    def __init__(self, reports: ReportStore, users: UserStore) -> None:
        self._reports = reports
        self._users = users

    async def resolve(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        for report_id in tagged(query, NOTICE_TAG):
            for user_id, language in await notice_audience(self._reports, self._users, query.tenant, report_id):
                yield Recipient(user_id, language)
