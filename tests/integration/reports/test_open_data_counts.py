"""Reports in the KPI open-data files: per tenant and day, reports opened (LINE and Open311) and closed (完了 or
対応できません), each with a breakdown by category — counted by the real flows on Redis, read back over HTTP from
``/opendata/...`` and ``schema.json``; exact counts (every report is public in Open311), nothing personal."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kpi import recorder as R
from kpi.recorder import RedisKpiRecorder
from kpi.web import KpiWebDeps, setup
from reports.model import Draft
from reports.open311 import Open311Deps, create_app
from reports.service import change_status, file_report
from reports.store import RedisApiKeyStore, RedisDraftStore, RedisReportStore
from reports.testing import demo_tenant, make_deps

DAY = dt.date(2026, 11, 25)
NOON = dt.datetime(2026, 11, 25, 12, 0, tzinfo=R.JST).timestamp()
NEXT_DAY = NOON + 86400  # the open data publishes complete days only


@pytest.fixture
async def env(redis):
    deps, *_ = make_deps(clock=lambda: NOON)
    deps.reports, deps.drafts = RedisReportStore(redis), RedisDraftStore(redis)
    deps.kpi = RedisKpiRecorder(redis, clock=lambda: NOON)
    keys = RedisApiKeyStore(redis)
    await keys.add("demo", "fms", "o311_key")
    app = web.Application()
    app.add_subapp("/open311/v2", create_app(Open311Deps(reports=deps, keys=keys, tenants={"demo": demo_tenant()})))
    setup(app, KpiWebDeps(recorder=RedisKpiRecorder(redis, clock=lambda: NEXT_DAY), tenants={"demo": demo_tenant()},
                          clock=lambda: NEXT_DAY))
    async with TestClient(TestServer(app)) as client:
        yield client, deps


async def test_reports_opened_and_closed_per_category_reach_the_open_data(env):
    client, deps = env
    for i, (uid, category) in enumerate([("Uaaaa", "pothole"), ("Ubbbb", "pothole"), ("Ucccc", "graffiti")]):
        await file_report(deps, Draft(tenant="demo", user_id=uid, step="confirm", category=category, lat=34.69 + i * 0.01,
                                      lng=135.50, address="大阪市北区梅田一丁目", comment="山田の家の前 090-1111-2222"))
    resp = await client.post("/open311/v2/demo/requests.json", data={"api_key": "o311_key", "service_code": "streetlight",
                                                                     "lat": "34.70", "long": "135.51", "description": "暗い"})
    assert resp.status == 201
    await change_status(deps, "demo", "R000001", "closed", "直しました。", "staff")
    await change_status(deps, "demo", "R000001", "closed", "舗装も済みました。", "staff")  # already closed: not again
    await change_status(deps, "demo", "R000003", "declined", "私有地のため対応できません。", "staff")
    await change_status(deps, "demo", "R000002", "in_progress", "", "staff")  # still open

    doc = await (await client.get(f"/opendata/demo/daily.json?from={DAY}&to={DAY}")).json()
    [row] = doc["rows"]
    assert (row["date"], row["reports_opened"], row["reports_closed"]) == (DAY.isoformat(), 4, 2)
    assert row["breakdowns"]["report_opened_category"] == {"graffiti": 1, "pothole": 2, "streetlight": 1}
    assert row["breakdowns"]["report_closed_category"] == {"graffiti": 1, "pothole": 1}

    schema = await (await client.get("/opendata/schema.json")).json()
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["reports_opened"]["kind"] == fields["reports_closed"]["kind"] == "exact_count"
    assert {"report_opened_category", "report_closed_category"} <= set(schema["files"]["json"]["breakdowns"])
    text = (await (await client.get(f"/opendata/demo/daily.csv?from={DAY}&to={DAY}")).text()).lstrip("\ufeff")
    header, values = list(csv.reader(io.StringIO(text)))
    assert header == [f["name"] for f in schema["fields"]] and header[-2:] == ["reports_opened", "reports_closed"]
    assert values[-2:] == ["4", "2"]
    for secret in ("Uaaaa", "山田", "090", "fms", "暗い"):
        assert secret not in text and secret not in str(doc)
