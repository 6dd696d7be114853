"""A counsellor in a real browser (Debian chromium via Playwright) against the console on Redis-backed stores.

crisis request queued → on top of the queue → take over → the resident's message (an XSS payload) appears live as
text → the counsellor replies → the reply went out through the LinePort (recording fake; the emulator later).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiohttp import web

import handoff
from bot.chat import Incoming
from handoff import HandoffDeps, RecordingLinePort, RedisHandoffBus, RedisHandoffStore
from handoff.testing import build_app, demo_tenants
from staff import RedisStaffStore, add_staff, fast_policy
from tests.browser import chromium, sign_in
from tests.system import free_port

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
PW = "correct horse battery"
XSS = "<img src=x onerror=\"document.body.dataset.pwned='1'\">たすけて"


async def _until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


@pytest.fixture
async def console(redis):
    tenants = demo_tenants()
    staff_store = RedisStaffStore(redis)
    policy = fast_policy()
    await add_staff(staff_store, "demo", "alice", "counsellor", PW, display_name="相談員A", hasher=policy.hasher)
    await add_staff(staff_store, "demo", "sam", "supervisor", PW, display_name="SV佐藤", hasher=policy.hasher)
    line = RecordingLinePort()
    deps = HandoffDeps(store=RedisHandoffStore(redis), bus=RedisHandoffBus(redis), line=line)
    app = build_app(staff_store, deps, tenants, policy=policy, cookie_secure=True)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield deps, line, tenants, f"http://127.0.0.1:{port}"  # Chromium accepts Secure cookies on loopback http
    await runner.cleanup()




async def _login(page, base: str, username: str) -> None:
    await page.goto(f"{base}/staff/login")
    await sign_in(page, "demo", username, PW, lands_on=f"{base}/console")


async def test_emergency_alerts_the_supervisor_who_joins(console):
    deps, line, tenants, base = console
    demo = tenants["demo"]
    cid = (await handoff.request_handoff(deps, demo, "U1", risk="high", category="DV", summary="DVの相談")).conversation_id
    async with chromium() as browser:
        alice = await (await browser.new_context(viewport={"width": 1400, "height": 900}, locale="ja-JP")).new_page()
        sam = await (await browser.new_context(viewport={"width": 1400, "height": 900}, locale="ja-JP")).new_page()
        await _login(alice, base, "alice")
        await _login(sam, base, "sam")

        # keyboard only: Alt+Q jumps to the first 「担当する」 button, Enter takes over
        await alice.locator("#queue li").first.wait_for()
        await alice.keyboard.press("Alt+q")
        await alice.keyboard.press("Enter")
        await alice.locator("#send-form").wait_for(state="visible")
        await sam.locator("#live li", has_text="担当: alice").wait_for()

        await alice.click("#emergency-btn")
        await alice.locator("#checklist-items li", has_text="110").wait_for()
        assert "児童相談所" in await alice.locator("#checklist-items").inner_text()
        await sam.locator("#alert", has_text="緊急").wait_for()

        await sam.locator("#live li button", has_text="見る").click()
        await sam.locator("#join-btn").wait_for(state="visible")
        await sam.click("#join-btn")
        await sam.locator("#send-form").wait_for(state="visible")
        await sam.locator("#join-box").wait_for(state="hidden")
        await sam.locator("#mine li").first.wait_for()
        await sam.locator("#transcript .msg.system", has_text="緊急対応").wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        assert await sam.locator("#transfer-box").is_hidden()  # only the holder transfers
        await sam.screenshot(path=str(ARTIFACTS / "console_supervisor.png"), full_page=True)

        await alice.select_option("#canned", label="配偶者暴力相談支援センターの紹介")
        assert "配偶者暴力相談支援センター" in await alice.input_value("#reply")
        await alice.press("#reply", "Enter")
        await _until(lambda: any("配偶者暴力相談支援センター" in t for t in line.texts_to("U1")))

        await alice.fill("#note", "次回は生活面も確認")
        await alice.click("#note-btn")
        await alice.locator("#notes li", has_text="次回は生活面も確認").wait_for()
        await alice.check("#labels input[value='DV']")
        await alice.select_option("#category", "他機関へ紹介")
        await alice.click("#close-btn")
        await _until(lambda: line.texts_to("U1")[-1].startswith("相談を終了します"))
        conv = await deps.store.get("demo", cid)
        assert (conv.status, conv.labels, conv.closing_category, conv.emergency) == ("closed", ["DV"], "他機関へ紹介", True)
        assert not await handoff.is_held(deps, "demo", "U1")
        assert [n.text for n in await deps.store.notes("demo", cid)] == ["次回は生活面も確認"]


async def test_counsellor_takes_a_crisis_and_replies(console):
    deps, line, tenants, base = console
    demo = tenants["demo"]
    await handoff.request_handoff(deps, demo, "U-normal", summary="手続きの相談")
    await handoff.request_handoff(deps, demo, "U-crisis", risk="crisis", category="suicide", reason="crisis", summary="自殺念慮の可能性")

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1400, "height": 900}, locale="ja-JP")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/console")
        assert "/staff/login" in page.url  # not logged in: sent to the login page
        await sign_in(page, "demo", "alice", PW, lands_on=f"{base}/console")

        first = page.locator("#queue li").first
        await first.wait_for()
        assert "crisis" in (await first.get_attribute("class"))
        assert "自殺念慮の可能性" in await first.inner_text()
        await first.locator("button.take").click()
        await page.locator("#send-form").wait_for(state="visible")
        await page.locator("#queue li:nth-child(2)").wait_for(state="detached")
        assert await page.locator("#queue li").count() == 1

        t0 = time.monotonic()
        await handoff.on_resident_message(
            deps, demo, "U-crisis", Incoming(tenant=demo, user_id="U-crisis", kind="text", webhook_event_id="e1", timestamp_ms=0, text=XSS, message_id="m1")
        )
        resident = page.locator("#transcript .msg.resident").last
        await resident.wait_for()
        print(f"resident message visible after {time.monotonic() - t0:.3f} s")
        assert XSS in await resident.inner_text()
        assert await page.locator("#transcript img").count() == 0
        assert await page.locator("body[data-pwned]").count() == 0

        await page.fill("#reply", "相談員です。お話を聞かせてください。")
        await page.press("#reply", "Enter")
        await page.locator("#transcript .msg.counsellor").wait_for()
        pushed = await _until(lambda: [c for c in line.pushes if c.user_id == "U-crisis" and "お話を聞かせてください" in c.messages[0]["text"]])
        assert len(pushed) == 1 and len(pushed[0].retry_key) == 36
        await _until(lambda: any(c.op == "mark_as_read" and c.user_id == "U-crisis" for c in line.calls))
        assert line.texts_to("U-normal") == []

        await page.locator("#conv-timer", has_text="経過").wait_for()
        assert not await page.locator("#checklist").is_visible()  # no emergency declared
        assert errors == []

        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)
