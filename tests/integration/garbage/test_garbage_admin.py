"""/admin/garbage through real HTTP on Redis: edits reach the bot's search at once, CSV round trip, a broken upload
lists its rows and changes nothing, stale pages and other tenants are refused, viewers cannot write."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer

from garbage import DEMO_DATA, GarbageDeps, read_dir, redis_ports, to_files
from garbage.admin import GarbageAdminDeps, create_app
from garbage.search import LazyAnalyzer
from garbage.service import import_files
from staff import add_staff, fast_policy
from staff.store import MemoryStaffStore
from staff.web import StaffDeps, setup
from tests.helpers import staff_login, tenant

PW = "correct horse battery"
TENANTS = {"demo": tenant("demo"), "suita": tenant("suita", display_name="吹田市", lg_code="272051")}


@pytest.fixture
async def env(redis):
    staff_store = MemoryStaffStore()
    policy = fast_policy()
    for t, user, role in [("demo", "eda", "editor"), ("demo", "vic", "viewer"), ("suita", "sue", "editor")]:
        await add_staff(staff_store, t, user, role, PW, hasher=policy.hasher)
    ports = redis_ports(redis)
    await import_files(ports.datasets, "demo", read_dir(DEMO_DATA))
    app = web.Application()
    setup(app, StaffDeps(store=staff_store, tenants=TENANTS, policy=policy, cookie_secure=False))
    app.add_subapp("/admin/garbage", create_app(GarbageAdminDeps(ports.datasets, ports.unknown)))
    async with TestClient(TestServer(app)) as client:
        yield client, ports


async def login(client, t: str, user: str) -> None:
    await staff_login(client, t, user, PW, next_path="/admin/garbage/")


async def page_tokens(client, path: str = "/admin/garbage/") -> tuple[str, str]:
    html = await (await client.get(path)).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    rev = re.search(r'name="rev" value="(\d+)"', html)
    return csrf, rev.group(1) if rev else ""


async def test_item_edit_reaches_the_bot_search_at_once(env):
    client, ports = env
    bot = GarbageDeps(ports.datasets, ports.unknown, ports.reminders, LazyAnalyzer())
    assert (await bot.search("demo", "黒板消し")).candidates == ()
    await ports.unknown.record("demo", "黒板消し")
    await login(client, "demo", "eda")
    csrf, rev = await page_tokens(client)
    resp = await client.post("/admin/garbage/items", allow_redirects=False, data={
        "csrf_token": csrf, "rev": rev, "category": "燃やすごみ", "name": "黒板消し", "furigana": "こくばんけし", "notice": ""})
    assert resp.status == 303 and "保存しました" in unquote(resp.headers["Location"])
    hit = (await bot.search("demo", "こくばんけし")).best
    assert hit.item.name == "黒板消し" and hit.item.category == "燃やすごみ"
    assert await ports.unknown.top("demo") == []  # added: gone from the editors' list


async def test_stale_page_is_refused(env):
    client, ports = env
    await login(client, "demo", "eda")
    csrf, rev = await page_tokens(client)
    data = {"csrf_token": csrf, "rev": rev, "category": "燃やすごみ", "name": "一人目", "furigana": "", "notice": ""}
    assert (await client.post("/admin/garbage/items", data=data, allow_redirects=False)).status == 303
    await client.post("/admin/garbage/items", data={**data, "name": "二人目"}, allow_redirects=False)
    names = {i.name for i in (await ports.datasets.get("demo")).items}
    assert "一人目" in names and "二人目" not in names


async def test_area_rule_and_calendar_exception_edits_are_checked(env):
    client, ports = env
    await login(client, "demo", "eda")
    csrf, rev = await page_tokens(client, "/admin/garbage/?tab=areas")
    ds = await ports.datasets.get("demo")
    area = ds.areas[0]
    form = {"csrf_token": csrf, "rev": rev, "orig_name": area.name, "name": area.name, "center": area.center,
            **{f"rule:{c}": r for c, r in area.rules}}
    await client.post("/admin/garbage/areas", data={**form, "rule:燃やすごみ": "月曜日"}, allow_redirects=False)
    assert (await ports.datasets.get("demo")).areas[0] == area  # refused: not a day rule
    await client.post("/admin/garbage/areas", data={**form, "rule:燃やすごみ": "火 金"}, allow_redirects=False)
    assert dict((await ports.datasets.get("demo")).areas[0].rules)["燃やすごみ"] == "火 金"
    csrf, rev = await page_tokens(client, "/admin/garbage/?tab=calendar")
    await client.post("/admin/garbage/exceptions", allow_redirects=False, data={
        "csrf_token": csrf, "rev": rev, "date": "2027-03-01", "area": "*", "category": "燃やすごみ", "action": "休止",
        "moved_to": "", "reason": "施設点検"})
    assert (await ports.datasets.get("demo")).exceptions[-1].reason == "施設点検"


async def test_csv_round_trip_and_broken_upload(env):
    client, ports = env
    await login(client, "demo", "eda")
    before = await ports.datasets.get("demo")
    exported = {}
    for name in to_files(before):
        resp = await client.get(f"/admin/garbage/export/{name}")
        assert resp.status == 200
        exported[name] = await resp.read()
    csrf, _ = await page_tokens(client, "/admin/garbage/?tab=csv")
    form = FormData()
    form.add_field("csrf_token", csrf)
    for name, data in exported.items():
        form.add_field(name, data, filename=name, content_type="text/csv")
    assert (await client.post("/admin/garbage/import", data=form, allow_redirects=False)).status == 303
    assert await ports.datasets.get("demo") == before and await ports.datasets.revision("demo") == 2

    broken = dict(exported)
    rows = broken["target.csv"].decode("utf-8-sig").splitlines()
    rows[3] = "謎ごみ,なにか,,"
    broken["target.csv"] = "\n".join(rows).encode("cp932")
    form = FormData()
    form.add_field("csrf_token", csrf)
    for name, data in broken.items():
        form.add_field(name, data, filename=name, content_type="text/csv")
    resp = await client.post("/admin/garbage/import", data=form, allow_redirects=False)
    html = await resp.text()
    assert resp.status == 422 and "target.csv" in html and ">4<" in html and "謎ごみ" in html
    assert await ports.datasets.get("demo") == before and await ports.datasets.revision("demo") == 2


async def test_roles_and_tenants(env):
    client, ports = env
    await login(client, "demo", "vic")
    assert "生ごみ" in await (await client.get("/admin/garbage/")).text()
    csrf, rev = await page_tokens(client)
    resp = await client.post("/admin/garbage/items/delete", data={"csrf_token": csrf, "rev": rev, "category": "燃やすごみ",
                                                                 "name": "生ごみ"}, allow_redirects=False)
    assert resp.status == 403
    await client.post("/staff/logout", data={"csrf_token": csrf})
    client.session.cookie_jar.clear()
    await login(client, "suita", "sue")
    assert "生ごみ" not in await (await client.get("/admin/garbage/")).text()
    assert "生ごみ" not in await (await client.get("/admin/garbage/export/target.csv")).text()
    assert (await client.post("/admin/garbage/items", data={"name": "x"}, allow_redirects=False)).status == 403  # no CSRF


async def test_demo_data_loads_once_and_keeps_staff_edits(redis):
    from garbage.demo import load_demo_garbage

    tenants = {"demo": tenant("demo", demo=True), "suita": tenant("suita", display_name="吹田市", lg_code="272051")}
    notes = await load_demo_garbage(redis, tenants)
    assert "408 items" in notes[0]
    ports = redis_ports(redis)
    ds = await ports.datasets.get("demo")
    await ports.datasets.put("demo", type(ds)(categories=ds.categories, items=ds.items[:3], areas=ds.areas))
    assert await load_demo_garbage(redis, tenants) == []  # a restart of the demo keeps the edited data
    assert len((await ports.datasets.get("demo")).items) == 3
    assert await ports.datasets.get("suita") is None
