"""The staff page for drills and rejected telegrams, through real HTTP with the staff login and roles."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from alerts.geo import Gazetteer
from alerts.jma.parser import parse_telegram
from alerts.service import (
    AlertDeps,
    MemoryAlertLedger,
    RedisTelegramArchive,
    drill_recorder,
    process_telegram,
)
from alerts.web import create_app
from bot.config import Tenant
from broadcasts.jobs import MemoryDeliverer
from staff import add_staff, fast_policy
from staff.store import MemoryStaffStore
from staff.web import StaffDeps, setup
from tests.helpers import staff_login

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "jmx"
PW = "correct horse battery"
TENANTS = {"demo": Tenant(id="demo", display_name="デモ市", lg_code="271004")}


@pytest.fixture
async def env(redis):
    staff_store = MemoryStaffStore()
    policy = fast_policy()
    for user, role in [("ada", "admin"), ("vic", "viewer")]:
        await add_staff(staff_store, "demo", user, role, PW, hasher=policy.hasher)
    archive = RedisTelegramArchive(redis)
    app = web.Application()
    setup(app, StaffDeps(store=staff_store, tenants=TENANTS, policy=policy, cookie_secure=False))
    app.add_subapp("/admin/alerts", create_app(archive))
    async with TestClient(TestServer(app)) as client:
        yield client, archive


async def login(client, user: str) -> None:
    await staff_login(client, "demo", user, PW, next_path="/admin/alerts/")


async def test_drill_kept_from_residents_is_listed_for_admins(env):
    client, archive = env
    deliverer = MemoryDeliverer()
    deps = AlertDeps(deliverer, Gazetteer.load(), MemoryAlertLedger(), tenants=lambda: ["demo"], on_drill=drill_recorder(archive))
    drill = (FIX / "osaka_VXWW50.xml").read_text(encoding="utf-8").replace("<Status>通常</Status>", "<Status>訓練</Status>")
    assert await process_telegram(parse_telegram(drill.encode()), deps) == [] and deliverer.jobs == {}
    await archive.record("rejected", {"entry": "http://x/VPWW55.xml", "type": "VPWW55", "error": "hostile XML: DTD"}, b"<!DOCTYPE")

    resp = await client.get("/admin/alerts/", allow_redirects=False)
    assert resp.status == 401 and "VXWW50" not in await resp.text()  # not without a login

    await login(client, "ada")
    body = await (await client.get("/admin/alerts/")).text()
    row = body[body.index("<tbody>"):body.index("</tbody>")]
    assert "訓練" in row and "VXWW50" in row and "大阪府レベル４土砂災害危険警報" in row and "箕面市" in row
    assert "2026-07-01 11:30" in row
    assert "hostile XML: DTD" in body


async def test_viewers_cannot_see_it(env):
    client, _ = env
    await login(client, "vic")
    assert (await client.get("/admin/alerts/", allow_redirects=False)).status == 403
