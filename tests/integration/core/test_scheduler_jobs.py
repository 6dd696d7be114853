"""The scheduler jobs the composition root registers: KPI snapshots carry subscriber breakdowns."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.subscriptions import Place, Subscription
from app.bootstrap import open_container
from bot.config import Settings
from bot.users import User
from kpi.recorder import SNAP_AREA, SNAP_FRIENDS, SNAP_LANGUAGE, SNAP_SUBSCRIBERS


class RecordingScheduler:
    def __init__(self) -> None:
        self.jobs: dict[str, object] = {}

    def add_job(self, func, trigger=None, id=None, **kw):  # noqa: A002 - APScheduler's signature
        self.jobs[id or func.__name__] = func

    def modify_job(self, *a, **kw):
        pass


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICBOT_DEMO", "1")
    return Settings(data_dir=tmp_path, demo=True, jma_poll_seconds=0)


async def test_kpi_snapshot_records_friends_and_subscribers_by_area_category_language(settings, redis_url, redis):
    async with open_container(settings, redis_url) as c:
        scheduler = RecordingScheduler()
        for register in c.scheduler_jobs:
            register(scheduler)
        assert {"kpi-snapshots", "kpi-deliveries", "handoff-housekeeping", "broadcast-drafts"} <= set(scheduler.jobs)
        store = c.ports.alerts.store
        for i, (code, lang) in enumerate([("27205", "ja"), ("27205", "en"), ("27104", "ja")]):
            uid = f"U{i:032d}"
            await c.users.save(User(tenant="demo", user_id=uid, language=lang))
            await store.save(Subscription(tenant="demo", user_id=uid, places=[Place(id="p1", name="自宅", code=code)], language=lang))
        await scheduler.jobs["kpi-snapshots"]()
        today = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()
        (day,) = await c.ports.kpi.days("demo", [today])
        assert day.snapshot[SNAP_FRIENDS] == 3 and day.snapshot[SNAP_SUBSCRIBERS] == 3
        assert day.snap_breakdown(SNAP_AREA)["27205"] == 2 and day.snap_breakdown(SNAP_AREA)["27104"] == 1
        assert day.snap_breakdown(SNAP_AREA)["27100"] == 1  # the 此花区 place also counts for 大阪市
        assert day.snap_breakdown(SNAP_LANGUAGE) == {**day.snap_breakdown(SNAP_LANGUAGE), "ja": 2, "en": 1}
