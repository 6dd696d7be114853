"""The public pages and open-data files over HTTP, on the Redis recorder: schema agreement, privacy, no ids or text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kpi import recorder as R
from kpi.aggregate import Cell
from kpi.opendata import HEADER
from kpi.recorder import RedisKpiRecorder
from kpi.web import KpiWebDeps, setup
from tests.helpers import tenant

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=R.JST).timestamp()
TODAY = dt.date(2026, 11, 25)
YESTERDAY = dt.date(2026, 11, 24)


@pytest.fixture
async def client(redis):
    rec = RedisKpiRecorder(redis, clock=lambda: NOW)
    tenants = {
        "osaka": tenant("osaka", display_name="大阪市", lg_code="271004"),
        "kanan": tenant("kanan", display_name="河南町", lg_code="273821"),
    }
    for _ in range(12):
        await rec.message_received("osaka", YESTERDAY)
    for _ in range(3):
        await rec.message_received("kanan", YESTERDAY)
    for cat, n in (("dv", 3), ("living", 9)):
        for _ in range(n):
            await rec.consultation_opened("osaka", cat, outside_hours=False, day=YESTERDAY)
    await rec.alert_delivered("osaka", "earthquake", recipients=700, latency_seconds=30, day=TODAY)
    await rec.subscribers_snapshot("osaka", friends=900, subscribers=700, by_area={"27102": 690, "27103": 10},
                                   by_category={"earthquake": 700}, by_language={"ja": 880, "en": 20}, day=YESTERDAY)
    app = web.Application()
    setup(app, KpiWebDeps(recorder=rec, tenants=tenants, clock=lambda: NOW))
    async with TestClient(TestServer(app)) as c:
        yield c


async def _csv(client, url):
    resp = await client.get(url)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    text = await resp.text()
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


async def test_csv_header_and_json_rows_match_the_schema(client):
    schema = await (await client.get("/opendata/schema.json")).json()
    names = [f["name"] for f in schema["fields"]]
    assert names == list(HEADER) == schema["files"]["csv"]["header"]
    assert schema["license"]["name"] == "CC BY 4.0"

    rows = await _csv(client, "/opendata/osaka/daily.csv?from=2026-11-20")
    assert rows[0] == names
    assert [r[3] for r in rows[1:]] == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"]  # complete days
    default = await _csv(client, "/opendata/osaka/daily.csv")
    assert len(default) == 1 + 365 and default[-1][3] == "2026-11-24"
    assert all(len(r) == len(names) for r in rows)

    doc = await (await client.get("/opendata/osaka/daily.json?from=2026-11-20")).json()
    assert set(doc) == set(schema["files"]["json"]["top_level"])
    assert doc["license"]["name"] == "CC BY 4.0" and "CC BY 4.0" in doc["license"]["notice_ja"]
    for row in doc["rows"]:
        assert list(row) == schema["files"]["json"]["row_fields"]
        assert set(row["breakdowns"]) == set(schema["files"]["json"]["breakdowns"])
        for f in schema["fields"]:
            value = row[f["name"]]
            if f["kind"] == "count":
                assert value is None or value in ("5未満", "秘匿") or (isinstance(value, int) and value >= 5), (f["name"], value)
            elif f["kind"] == "exact_count":
                assert isinstance(value, int) and value >= 0
            elif f["kind"] == "seconds":
                assert value is None or value >= 0
            elif f["kind"] == "date":
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)


async def test_open_data_applies_the_privacy_rule(client):
    doc = await (await client.get("/opendata/daily.json?from=2026-11-24&to=2026-11-24")).json()
    by_tenant = {r["tenant_id"]: r for r in doc["rows"]}
    assert by_tenant["osaka"]["messages"] == 12
    assert by_tenant["kanan"]["messages"] == "5未満"  # 3, never published
    assert by_tenant["osaka"]["consultations"] == 12
    cats = by_tenant["osaka"]["breakdowns"]["consult_category"]
    assert cats["dv"] == "5未満" and cats["living"] == 9  # the other 「5未満」 categories keep dv's 3 ambiguous
    assert by_tenant["osaka"]["friends"] == 900 and by_tenant["kanan"]["friends"] is None
    area = by_tenant["osaka"]["breakdowns"]["area"]
    assert area["27102"] == 690 and area["27103"] == 10
    assert area["27104"] == "5未満"  # every ward of 大阪市 is listed, so an empty ward looks like a small one
    text = json.dumps(doc, ensure_ascii=False)
    assert '": 3' not in text and '"U' not in text


async def test_all_tenants_csv_has_one_row_per_tenant_day(client):
    rows = await _csv(client, "/opendata/daily.csv?from=2026-11-23&to=2026-11-24")
    assert [(r[2], r[3]) for r in rows[1:]] == [("osaka", "2026-11-23"), ("kanan", "2026-11-23"), ("osaka", "2026-11-24"), ("kanan", "2026-11-24")]
    assert rows[1][0] == "271004" and rows[1][1] == "大阪市"


async def test_open_data_rejects_bad_ranges_and_unknown_tenants(client):
    assert (await client.get("/opendata/nowhere/daily.csv")).status == 404
    assert (await client.get("/opendata/osaka/daily.csv?from=yesterday")).status == 400
    assert (await client.get("/opendata/osaka/daily.csv?from=2026-11-25&to=2026-11-01")).status == 400
    assert (await client.get("/opendata/osaka/daily.csv?from=2020-01-01")).status == 400


async def test_dashboard_pages_render_in_both_languages_without_small_counts(client):
    resp = await client.get("/dashboard?period=7d")
    assert resp.status == 200
    html = await resp.text()
    assert "大阪府全体" in html and ("5未満" in html or "非公表" in html)
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    en = await (await client.get("/dashboard/osaka?period=7d&lang=en")).text()
    assert 'lang="en"' in en and "Messages per day" in en
    small = await (await client.get("/dashboard/kanan?period=7d")).text()
    assert "河南町" in small and ">3<" not in small
    assert (await client.get("/dashboard/nowhere")).status == 404
    assert (await client.get("/opendata")).status == 200
    assert (await client.get("/kpi-static/kpi.css")).status == 200


async def test_dashboard_shows_todays_new_events_while_past_days_stay_cached(redis):
    rec = RedisKpiRecorder(redis, clock=lambda: NOW)
    for _ in range(6):
        await rec.message_received("osaka", YESTERDAY)
    deps = KpiWebDeps(recorder=rec, tenants={"osaka": tenant("osaka", display_name="大阪市", lg_code="271004")}, clock=lambda: NOW, cache_seconds=0)
    from kpi.web import load_view

    view = await load_view(deps, "osaka", "7d")
    assert view.totals[R.MESSAGES] == Cell(6, "partial")  # five other days are 「5未満」 (zero)
    for _ in range(5):
        await rec.message_received("osaka", TODAY)
    view = await load_view(deps, "osaka", "7d")
    assert view.totals[R.MESSAGES] == Cell(11, "partial")
    assert [c.public() for c in view.series[R.MESSAGES]][-2:] == [6, 5]


async def test_routes_can_be_added_before_the_deps_exist(redis):
    from kpi.web import bind

    app = web.Application()
    setup(app)  # routes at build time; Redis is opened later in a cleanup_ctx
    async with TestClient(TestServer(app)) as c:
        assert (await c.get("/dashboard")).status == 503
        bind(app, KpiWebDeps(recorder=RedisKpiRecorder(redis), tenants={"osaka": tenant("osaka", lg_code="271004")}))
        assert (await c.get("/dashboard")).status == 200


async def test_open_data_never_publishes_todays_live_counts(redis):
    """Review finding 5: ``to=today`` read live counts (dashboard 6, open data 7, with the dv/suicide breakdown)."""
    rec = RedisKpiRecorder(redis, clock=lambda: NOW)
    deps = KpiWebDeps(recorder=rec, tenants={"osaka": tenant("osaka", display_name="大阪市", lg_code="271004")}, clock=lambda: NOW)
    app = web.Application()
    setup(app, deps)
    async with TestClient(TestServer(app)) as c:
        for _ in range(7):
            await rec.consultation_opened("osaka", "dv", outside_hours=False, day=TODAY)
        rows = await _csv(c, "/opendata/osaka/daily.csv?from=2026-11-20&to=2026-11-25")
        assert rows[-1][3] == "2026-11-24" and all(r[3] != "2026-11-25" for r in rows[1:])
        assert (await c.get("/opendata/osaka/daily.json?from=2026-11-25&to=2026-11-25")).status == 400  # no complete day


async def test_odd_open_data_ranges_never_push_the_dashboard_out_of_its_cache(redis):
    """Review finding 5: more than 256 cache keys cleared the whole cache, dashboard views included."""
    rec = RedisKpiRecorder(redis, clock=lambda: NOW)
    deps = KpiWebDeps(recorder=rec, tenants={"osaka": tenant("osaka", display_name="大阪市", lg_code="271004")}, clock=lambda: NOW)
    app = web.Application()
    setup(app, deps)
    async with TestClient(TestServer(app)) as c:
        assert (await c.get("/dashboard/osaka?period=7d")).status == 200
        views = dict(deps._cache)
        assert views
        for n in range(300):
            day = YESTERDAY - dt.timedelta(days=n % 700)
            assert (await c.get(f"/opendata/osaka/daily.csv?from={day.isoformat()}&to={YESTERDAY.isoformat()}")).status == 200
        assert all(deps._cache.get(k) == v for k, v in views.items())  # the dashboard's views are all still there
        assert len(deps._files) <= deps.file_cache_size
