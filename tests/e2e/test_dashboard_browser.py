"""Browser test of the public KPI dashboard: seeded history, phone viewport, screenshot, nothing fetched from outside.

Every request the page makes goes through a route handler: anything not addressed to 127.0.0.1 is aborted and
recorded, and the test fails if the list is not empty (no CDN, no web font, no analytics).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kpi.demo import seed_history
from kpi.recorder import MemoryKpiRecorder
from kpi.web import KpiWebDeps, setup
from tests.helpers import tenant

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture
async def site():
    tenants = {
        "osaka": tenant("osaka", display_name="大阪市", lg_code="271004"),
        "suita": tenant("suita", display_name="吹田市", lg_code="272051"),
        "kanan": tenant("kanan", display_name="河南町", lg_code="273821"),
    }
    rec = MemoryKpiRecorder()
    deps = KpiWebDeps(recorder=rec, tenants=tenants)
    areas = {tid: deps.areas_of(tid) for tid in tenants}
    # a big city (exact figures), a mid-size city, and a small town whose cells are mostly 「5未満」
    await seed_history(rec, {"osaka": 2.0, "suita": 0.8, "kanan": 0.015}, areas, end=deps.today(), days=30)
    app = web.Application()
    setup(app, deps)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def browser_context(browser):
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP", device_scale_factor=2)
    seen: list[str] = []
    external: list[str] = []

    async def guard(route):
        url = route.request.url
        seen.append(url)
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith("data:"):
            await route.continue_()
        else:
            external.append(url)
            await route.abort()

    await context.route("**/*", guard)
    yield context, seen, external


async def test_dashboard_loads_with_seeded_data_and_makes_no_external_request(site, browser_context):
    from playwright.async_api import expect

    context, seen, external = browser_context
    page = await context.new_page()
    await page.goto(f"{site}/dashboard")
    await expect(page.locator("h1")).to_have_text("大阪府全体")
    # the tile map has one tile per municipality (43) and the per-municipality table hides the small town's counts
    await expect(page.locator('svg[aria-label="市町村別の登録者数"] > g')).to_have_count(43)
    kanan = page.locator("tbody tr", has_text="河南町")
    # 30 days of under-5 cells add up to nothing publishable (an exact sum would reveal them through sliding windows)
    await expect(kanan.locator("td").nth(1)).to_have_text("非公表")
    await expect(page.locator('svg[aria-label="1日あたりの受信メッセージ数"] > rect')).to_have_count(30)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # switch the period and the language through plain links
    await page.get_by_role("link", name="7日間").click()
    await expect(page.get_by_role("link", name="7日間")).to_have_attribute("aria-current", "page")
    await expect(page.locator('svg[aria-label="1日あたりの受信メッセージ数"] > rect')).to_have_count(7)
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("h1")).to_have_text("All of Osaka Prefecture")
    await expect(page.locator("html")).to_have_attribute("lang", "en")

    # a small town's own page: people counts under five never appear as numbers
    await page.goto(f"{site}/dashboard/kanan?period=today")
    await expect(page.locator("h1")).to_have_text("河南町")
    await expect(page.locator(".tile .num").nth(1)).to_have_text("5未満")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-small-town.png"), full_page=True)

    await page.set_viewport_size({"width": 1200, "height": 900})
    await page.goto(f"{site}/dashboard/osaka?period=30d")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-desktop.png"), full_page=True)

    assert any(u.endswith("/kpi-static/kpi.css") for u in seen)
    assert external == []
