"""Open311 GeoReport v2 over real HTTP on Redis: every field of the spec, filters, keys, blur, refusals."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from reports import open311
from reports.config import Department, ReportsConfig
from reports.model import Report, distance_m
from reports.open311 import REQUEST_FIELDS, SERVICE_FIELDS, Open311Deps, create_app, public_request
from reports.photos import MemoryPhotoStore
from reports.service import change_status
from reports.store import RedisApiKeyStore, RedisDraftStore, RedisReportStore
from reports.testing import demo_tenant, make_deps

KEY = "o311_test-key"
TENANTS = {"demo": demo_tenant()}
# the GeoReport v2 field list and the types a client relies on (None = may be null)
REQUEST_TYPES = {f: (str,) for f in REQUEST_FIELDS} | {"lat": (float,), "long": (float,), "expected_datetime": (str, type(None))}


@pytest.fixture
async def env(redis):
    deps, line, _ = make_deps()
    deps.reports, deps.drafts, deps.photos = RedisReportStore(redis), RedisDraftStore(redis), MemoryPhotoStore()
    keys = RedisApiKeyStore(redis)
    await keys.add("demo", "fms", KEY)
    app = web.Application()
    app.add_subapp("/open311/v2", create_app(Open311Deps(reports=deps, keys=keys, tenants=TENANTS)))
    async with TestClient(TestServer(app)) as client:
        yield client, deps, line


def check_request_fields(row: dict) -> None:
    assert set(row) == set(REQUEST_FIELDS), set(row) ^ set(REQUEST_FIELDS)
    for name, types in REQUEST_TYPES.items():
        assert isinstance(row[name], types), (name, row[name])
    assert row["status"] in ("open", "closed")
    dt.datetime.fromisoformat(row["requested_datetime"])


async def post(client, **fields):
    data = {"api_key": KEY, "service_code": "pothole", "lat": "34.69371", "long": "135.50231", "description": "大きな穴です。山田より 090-1234-5678", **fields}
    return await client.post("/open311/v2/demo/requests.json", data=data)


async def test_services_list_has_every_field(env):
    client, *_ = env
    resp = await client.get("/open311/v2/demo/services.json")
    assert resp.status == 200
    rows = await resp.json()
    assert [r["service_code"] for r in rows][:2] == ["pothole", "streetlight"]
    for row in rows:
        assert set(row) == set(SERVICE_FIELDS) and row["metadata"] is False and row["type"] == "realtime"


async def test_a_client_files_a_request_and_reads_it_back_blurred_and_without_personal_data(env):
    client, deps, _ = env
    resp = await post(client)
    assert resp.status == 201
    [created] = await resp.json()
    rid = created["service_request_id"]
    assert rid == "R000001" and set(created) >= {"service_request_id", "service_notice"}
    [row] = await (await client.get(f"/open311/v2/demo/requests/{rid}.json")).json()
    check_request_fields(row)
    assert row["status"] == "open" and row["service_code"] == "pothole" and row["agency_responsible"] == "道路課"
    assert (row["lat"], row["long"]) != (34.69371, 135.50231)
    assert distance_m(row["lat"], row["long"], 34.69371, 135.50231) <= 10
    text = await (await client.get("/open311/v2/demo/requests.json")).text()
    assert "090-1234-5678" not in text and "山田" not in text and "open311:fms" not in text
    stored = await deps.reports.get("demo", rid)
    assert stored.comment.startswith("大きな穴") and stored.reporter == "open311:fms"  # staff still see it


async def test_line_ids_never_appear_in_public_reads(env):
    client, deps, _ = env
    await deps.reports.create(Report(tenant="demo", id="R000009", category="graffiti", lat=34.7, lng=135.5, created_at=deps.clock(), reporter="Uabcdef0123456789", followers=["Ufollower"]))
    text = await (await client.get("/open311/v2/demo/requests.json")).text()
    assert "R000009" in text and "Uabcdef" not in text and "Ufollower" not in text


async def test_filters_status_code_dates_and_ids(env):
    client, deps, _ = env
    for i, code in enumerate(["pothole", "graffiti", "pothole"]):
        assert (await post(client, service_code=code, lat=str(34.69 + i * 0.01))).status == 201
    await change_status(deps, "demo", "R000003", "closed", "直しました。", "staff")

    async def ids(query: str) -> list[str]:
        resp = await client.get(f"/open311/v2/demo/requests.json?{query}")
        assert resp.status == 200, await resp.text()
        rows = await resp.json()
        for row in rows:
            check_request_fields(row)
        return [r["service_request_id"] for r in rows]

    assert await ids("") == ["R000003", "R000002", "R000001"]
    assert await ids("status=open") == ["R000002", "R000001"]
    assert await ids("status=closed") == ["R000003"]
    assert await ids("service_code=pothole") == ["R000003", "R000001"]
    assert await ids("service_code=pothole&status=open") == ["R000001"]
    assert await ids("service_request_id=R000002,R000001") == ["R000002", "R000001"]
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert await ids(f"start_date={tomorrow.replace('+', '%2B')}&end_date={tomorrow.replace('+', '%2B')}") == []
    [closed] = await (await client.get("/open311/v2/demo/requests/R000003.json")).json()
    assert closed["status_notes"] == "直しました。"


@pytest.mark.parametrize(
    ("fields", "status", "needle"),
    [
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"api_key": ""}, 403, "api_key"),
        ({"service_code": "nope"}, 400, "service_code"),
        ({"lat": "35.0116", "long": "135.7681"}, 400, "outside"),
        ({"lat": "north"}, 400, "lat"),
        ({"description": "x" * 1001}, 400, "description"),
    ],
    ids=["bad-key", "no-key", "unknown-service", "out-of-area", "bad-lat", "long-description"],
)
async def test_bad_posts_get_spec_errors(env, fields, status, needle):
    client, deps, _ = env
    resp = await post(client, **fields)
    assert resp.status == status
    [err] = await resp.json()
    assert err["code"] == status and needle in err["description"]
    assert await deps.reports.ids("demo") == []


async def test_unknown_jurisdiction_format_and_request(env):
    client, *_ = env
    assert (await client.get("/open311/v2/nowhere/services.json")).status == 404
    assert (await client.get("/open311/v2/demo/services.xml")).status == 400
    resp = await client.get("/open311/v2/demo/requests/R999999.json")
    assert resp.status == 404 and (await resp.json())[0]["code"] == 404
    assert (await client.get("/open311/v2/demo/requests.json?start_date=yesterday")).status == 400


async def test_a_flooding_client_is_refused(env):
    client, deps, _ = env
    deps.configs = {"demo": ReportsConfig(reports_per_hour=1)}  # 20 per hour for an API client
    codes = [(await post(client, lat=str(34.65 + i * 0.003))).status for i in range(22)]
    assert codes.count(201) == 20 and codes[-2:] == [429, 429]


async def test_open_data_counts(env):
    client, deps, _ = env
    await post(client)
    await post(client, service_code="graffiti", lat="34.70")
    await change_status(deps, "demo", "R000002", "declined", "私有地のため市では対応できません。", "staff")
    body = await (await client.get("/open311/v2/demo/stats.json")).json()
    rows = {r["category"]: r for r in body["counts"]}
    assert rows["pothole"]["received"] == 1 and rows["graffiti"]["declined"] == 1 and rows["mirror"]["received"] == 0
    csv_text = await (await client.get("/open311/v2/demo/stats.csv")).text()
    assert csv_text.splitlines()[0] == "category,category_ja,received,in_progress,closed,declined"


TRICKY = ['引用符 " とバックスラッシュ \\ と改行\n', "制御文字 \x01\x1f とタブ\t", "絵文字 🚧 と結合文字 が", "</script>&<>'", ""]


async def test_listings_are_byte_for_byte_what_json_dumps_writes_of_public_request(env, monkeypatch):
    """requests.json writes its rows directly (and memoizes them between polls): the bytes must be exactly
    ``json.dumps([public_request(...)])`` — the GeoReport v2 rows every other test checks — for every kind of value,
    every path (no filter, filters over several store chunks, ids, one request), and never a stale row."""
    client, deps, _ = env
    monkeypatch.setattr(open311, "LISTING_CHUNK", 2)  # the filtered path crosses chunk boundaries
    cfg = ReportsConfig()
    cfg.categories[0].labels["ja"] = '穴 "深い" \\ 🕳'
    cfg.departments["road"] = Department(name="道路課\t(南)")
    deps.configs = {"demo": cfg}
    now = deps.clock()
    for i in range(9):
        deps_fields = dict(status_text=TRICKY[i % len(TRICKY)], address=TRICKY[(i + 1) % len(TRICKY)] + "北区")
        await deps.reports.create(Report(tenant="demo", id=f"R{i + 1:06d}", category=["pothole", "graffiti", "mirror"][i % 3],
                                         lat=34.69 + i * 0.001, lng=135.50 - i * 0.0013, created_at=now - 3600 * i - 0.4,
                                         updated_at=0.0 if i % 2 else now - 10, reporter=f"U{i}", department=["road", "general", "park"][i % 3],
                                         status=["received", "in_progress", "closed", "declined"][i % 4], fix_photo="f" * 32 if i % 3 == 2 else "",
                                         **deps_fields))
    await deps.reports.update("demo", "R000004", lambda r: setattr(r, "merged_into", "R000001"))
    labels = open311.Labels(open311.Open311Deps(deps, None, TENANTS), "demo", str(client.make_url("")).rstrip("/"))

    async def same(path: str, ids: list[str]) -> None:
        resp = await client.get(path)
        assert resp.status == 200 and resp.content_type == "application/json" and resp.charset == "utf-8"
        expected = json.dumps([public_request(s, labels) for s in await deps.reports.summaries("demo", ids)])
        assert (await resp.read()).decode() == expected, path

    everyone = [f"R{i:06d}" for i in range(1, 10)]
    for _ in range(2):  # the second round is answered from the memoized rows
        await same("/open311/v2/demo/requests.json", everyone)
        await same("/open311/v2/demo/requests.json?status=open", ["R000001", "R000002", "R000005", "R000006", "R000009"])
        await same("/open311/v2/demo/requests.json?service_code=graffiti,mirror&status=closed", ["R000003", "R000008"])
        await same("/open311/v2/demo/requests.json?service_request_id=R000007,R000003,R000099", ["R000007", "R000003"])
        await same("/open311/v2/demo/requests/R000004.json", ["R000004"])
    deps.configs["demo"].open311_page_size = 4
    await same("/open311/v2/demo/requests.json?status=open,closed", everyone[:4])
    await change_status(deps, "demo", "R000001", "closed", "直しました。", "staff")
    await same("/open311/v2/demo/requests.json", everyone[:4])
    cfg.departments["road"] = Department(name="道路管理課")
    labels = open311.Labels(open311.Open311Deps(deps, None, TENANTS), "demo", str(client.make_url("")).rstrip("/"))
    await same("/open311/v2/demo/requests.json", everyone[:4])
