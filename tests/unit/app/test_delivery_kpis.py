import datetime as dt
from dataclasses import dataclass

import pytest

from app.delivery_kpis import delivery_class, memory_marker, record_finished_jobs, redis_marker
from kpi.recorder import ALERT_RECIPIENTS, ALERTS, BROADCASTS, LATENCY, REMINDER_RECIPIENTS, REMINDERS, MemoryKpiRecorder


@dataclass
class Job:
    job_id: str
    kind: str
    state: str
    sent: int
    latency_last: float | None = None
    duration: float | None = None


class Lister:
    def __init__(self, jobs):
        self.jobs = jobs

    async def list_jobs(self, tenant, limit=50):
        return self.jobs if tenant == "demo" else []


async def test_finished_alerts_and_broadcasts_are_recorded_once_and_running_ones_later():
    kpi = MemoryKpiRecorder()
    jobs = [
        Job("a", "jma:VPWW55", "done", 120, latency_last=42.0),
        Job("b", "broadcast", "done", 7),
        Job("c", "police", "sending", 3),
    ]
    marker = memory_marker()
    assert await record_finished_jobs(Lister(jobs), kpi, marker, ["demo", "suita"]) == 2
    assert await record_finished_jobs(Lister(jobs), kpi, marker, ["demo"]) == 0  # never twice
    jobs[2].state = "done"
    assert await record_finished_jobs(Lister(jobs), kpi, marker, ["demo"]) == 1
    (day,) = await kpi.days("demo", [dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()])
    assert day.get(ALERTS) == 2 and day.breakdown(ALERTS) == {"VPWW55": 1, "police": 1}
    assert day.get(ALERT_RECIPIENTS) == 123
    assert sum(day.histogram(LATENCY)) == 2
    assert day.get(BROADCASTS) == 1


@pytest.mark.parametrize("kind", ["redis"])
async def test_redis_marker_is_once_per_job(redis, kind):
    marker = redis_marker(redis)
    assert await marker("demo", "j1")
    assert not await marker("demo", "j1")
    assert await marker("suita", "j1")


async def test_report_status_notices_are_not_counted_as_alerts_or_broadcasts():
    kpi = MemoryKpiRecorder()
    jobs = [Job("n", "reports:status", "done", 2, duration=0.4), Job("a", "police", "done", 9, duration=1.0)]
    assert await record_finished_jobs(Lister(jobs), kpi, memory_marker(), ["demo"]) == 1
    (day,) = await kpi.days("demo", [dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()])
    assert day.get(ALERTS) == 1 and day.breakdown(ALERTS) == {"police": 1} and day.get(BROADCASTS) == 0


async def test_garbage_reminders_are_counted_as_reminders_not_alerts():
    kpi = MemoryKpiRecorder()
    jobs = [
        Job("g", "garbage:reminder", "done", 40, duration=3.0),
        Job("a", "jma:VPWW55:cancel", "done", 5, latency_last=10.0),
        Job("x", "something:new", "done", 8, duration=1.0),
    ]
    assert await record_finished_jobs(Lister(jobs), kpi, memory_marker(), ["demo"]) == 2
    (day,) = await kpi.days("demo", [dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()])
    assert (day.get(REMINDERS), day.get(REMINDER_RECIPIENTS)) == (1, 40)
    assert day.get(ALERTS) == 1 and day.breakdown(ALERTS) == {"VPWW55:cancel": 1} and day.get(ALERT_RECIPIENTS) == 5
    assert day.get(BROADCASTS) == 0


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("broadcast", "broadcast"), ("garbage:reminder", "reminder"), ("reports:status", "report_notice"),
     ("jma:VXSE53", "alert"), ("police", "alert"), ("garbage", None), ("", None)],
)
def test_delivery_class_by_kind(kind, expected):
    assert delivery_class(kind) == expected
