"""Delivery jobs: what `alerts/` and the staff composer hand to the delivery engine."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Literal, Protocol

from broadcasts.audience import AudienceQuery

Priority = Literal["emergency", "alert", "routine"]  # emergency preempts everything; routine may be held near quota


@dataclass(frozen=True)
class DeliveryJob:
    tenant: str
    audience: AudienceQuery
    messages: dict[str, list[dict]]  # language -> LINE message objects (LINE API JSON); must contain "ja" as fallback
    priority: Priority = "routine"
    kind: str = "broadcast"  # e.g. "jma:VPWW55", "police", "broadcast"
    source_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # same (tenant, source_id) = same job, sent once
    created_at: float = field(default_factory=time.time)
    reported_at: float | None = None  # upstream report time (JMA ReportDateTime) for latency KPIs
    title: str = ""  # short label for the admin UI and KPIs (never personal data)


class Deliverer(Protocol):
    async def submit(self, job: DeliveryJob) -> str:
        """Queue a job and return its id; submitting the same (tenant, source_id) again returns the same id."""
        ...


class MemoryDeliverer:
    """Records submitted jobs (fake for unit tests of the rooms that create jobs)."""

    def __init__(self) -> None:
        self.jobs: dict[str, DeliveryJob] = {}
        self._by_source: dict[tuple[str, str], str] = {}

    async def submit(self, job: DeliveryJob) -> str:
        key = (job.tenant, job.source_id)
        if key in self._by_source:
            return self._by_source[key]
        job_id = uuid.uuid4().hex
        self._by_source[key] = job_id
        self.jobs[job_id] = job
        return job_id
