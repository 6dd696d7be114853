"""/admin/disaster through real HTTP on fakes: roles, CSRF, two-person approval, bad input (400, never 500), and the
public open-shelter list."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import disaster.web
from staff import add_staff, fast_policy
from staff.store import MemoryStaffStore
from staff.testing import complete_login
from staff.web import StaffDeps, setup
from tests.helpers import csrf_token

from .fakes import DEMO, SUITA, with_bundled_shelters, world

PW = "correct horse battery"


@pytest.fixture
async def env():
    w = world()
    await with_bundled_shelters(w)
    store = MemoryStaffStore()
    policy = fast_policy()
    for name, role in (("ed", "editor"), ("sam", "supervisor"), ("vic", "viewer")):
        await add_staff(store, "demo", name, role, PW, hasher=policy.hasher)
    app = web.Application()
    setup(app, StaffDeps(store=store, tenants={"demo": DEMO, "suita": SUITA}, policy=policy, cookie_secure=False))
    app.add_subapp("/admin/disaster", disaster.web.create_app(w.deps))
    app.add_routes(disaster.web.public_routes(lambda request: w.deps))
    server = TestServer(app)
    await server.start_server()
    clients: list[TestClient] = []

    async def client_for(user: str) -> TestClient:  # one browser (cookie jar) per staff member, one server
        client = TestClient(server)
        await client.start_server()
        clients.append(client)
        token = csrf_token(await (await client.get("/staff/login")).text())
        resp = await client.post("/staff/login", allow_redirects=False, data={
            "tenant": "demo", "username": user, "password": PW, "csrf_token": token, "next": "/admin/disaster/"})
        assert resp.status == 303
        await complete_login(client, resp.headers["Location"], "demo", user)  # supervisors enrol TOTP first
        return client

    yield w, client_for
    for c in clients:
        await c.close()
    await server.close()


async def _post(client: TestClient, path: str, **form) -> tuple[int, str]:
    token = csrf_token(await (await client.get("/admin/disaster/")).text())
    resp = await client.post("/admin/disaster/" + path, data={"csrf_token": token, **form})
    return resp.status, await resp.text()


async def test_two_people_switch_viewer_only_looks_bad_input_is_400(env):
    w, client_for = env
    ed, sam, vic = await client_for("ed"), await client_for("sam"), await client_for("vic")
    assert (await vic.get("/admin/disaster/")).status == 200
    status, _ = await _post(vic, "request", mode="disaster", hazard="tsunami")
    assert status == 403
    status, html = await _post(ed, "request", mode="disaster")  # no hazard chosen
    assert status == 400 and "災害の種類" in html
    status, html = await _post(ed, "request", mode="disaster", hazard="tsunami", reason="津波警報")
    assert status == 200 and 'data-testid="disaster-pending"' in html and 'data-testid="disaster-approve"' not in html
    request_id = (await w.deps.store.request("demo")).id
    status, _ = await _post(ed, "approve", request_id=request_id)
    assert status == 403  # an editor never approves
    resp = await sam.post("/admin/disaster/approve", data={"request_id": request_id})  # no CSRF token
    assert resp.status == 403 and (await w.deps.store.state("demo")).mode == "normal"
    status, html = await _post(sam, "approve", request_id="nope")
    assert status == 400
    status, html = await _post(sam, "approve", request_id=request_id)
    assert status == 200 and "いまのモード：" in html and (await w.deps.store.state("demo")).mode == "disaster"


async def test_open_status_and_the_public_list(env):
    w, client_for = env
    ed = await client_for("ed")
    site = (await disaster.service.shelter_index(w.deps, "demo")).shelters[0]
    status, _ = await _post(ed, f"shelters/{site.id}/status", status="maybe")
    assert status == 400
    status, _ = await _post(ed, "shelters/E-nope/status", status="open")
    assert status == 400
    status, html = await _post(ed, f"shelters/{site.id}/status", status="open")
    assert status == 200 and "開設（" in html
    public = await (await ed.get("/dashboard/shelters/demo")).json()
    assert public["mode"] == "normal" and public["open"] == []  # shown only in disaster mode
    await disaster.service.switch_mode(w.deps, "demo", "disaster", ("earthquake",), "jma", "")
    public = await (await ed.get("/dashboard/shelters/demo")).json()
    assert [s["name"] for s in public["open"]] == [site.name] and public["attribution"].startswith("出典：国土地理院")
    assert (await ed.get("/dashboard/shelters/nowhere")).status == 404
