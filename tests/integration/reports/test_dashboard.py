"""The public dashboard shows reports per category and status for the tenant (the composition root plugs the table in)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kpi.recorder import RedisKpiRecorder
from kpi.web import CountTable, KpiWebDeps, setup
from reports.model import Report
from reports.service import change_status, count_table
from reports.store import RedisReportStore
from reports.testing import demo_tenant, make_deps


async def test_dashboard_lists_reports_by_category_and_status_in_its_language(redis):
    deps, *_ = make_deps()
    deps.reports = RedisReportStore(redis)
    for i, cat in enumerate(["pothole", "pothole", "graffiti"]):
        await deps.reports.create(Report(tenant="demo", id=f"R00000{i + 1}", category=cat, lat=34.69, lng=135.5, created_at=deps.clock(), reporter="Usecret"))
    await change_status(deps, "demo", "R000001", "closed", "済", "staff")

    async def table(tenant: str, lang: str) -> CountTable:
        return CountTable(*await count_table(deps, tenant, lang))

    app = web.Application()
    setup(app, KpiWebDeps(recorder=RedisKpiRecorder(redis), tenants={"demo": demo_tenant()}, tables=[table], cache_seconds=0))
    async with TestClient(TestServer(app)) as client:
        ja = await (await client.get("/dashboard/demo")).text()
        en = await (await client.get("/dashboard/demo?lang=en")).text()
    assert "通報（種類別・状況別" in ja and "Reports by type and status" in en
    row = ja.split("道路の穴・段差</th>")[1].split("</tr>")[0]
    assert [c.split("</td>")[0] for c in row.split("<td>")[1:]] == ["1", "0", "1", "0"]  # 受付, 対応中, 完了, 対応できません
    assert "Usecret" not in ja
