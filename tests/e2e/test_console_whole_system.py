"""The counsellor console through the whole system: resident simulator → emulator → webhook → worker → handoff queue →
console (web process) → LINE push through the emulator → back to the bot.

Set-up shared with the crisis-review test (tests/e2e/console_scene.py): 24/7 office hours, so the outcome does not
depend on the wall clock; the counsellor account is created directly in the same Redis.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.e2e.console_scene import RESIDENT, open_scene
from tests.system import System

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HOTLINE = "0120-279-338"  # よりそいホットライン (24 h), in the crisis layer's first reply


async def _deliveries(system: System) -> list[dict]:
    return await asyncio.to_thread(system.messages_to, RESIDENT)


def _texts(delivery: dict) -> str:
    return "\n".join(m.get("text", "") for m in delivery["messages"])


async def test_crisis_to_counsellor_and_back_to_the_bot(console_system, browser):
    from playwright.async_api import expect

    # 1. a counsellor is on duty: logged in, the console open; the resident on the simulator
    scene = await open_scene(browser, console_system, "alice")
    resident, console, errors, resident_says = scene.resident, scene.console, scene.errors, scene.resident_says

    # 2. the crisis message: hotlines in the very first reply, and the request tops the queue
    t0 = time.monotonic()
    await resident_says("もう死にたい")
    top = console.locator("#queue li").first
    await expect(top).to_contain_text("危機", timeout=15_000)
    print(f"\ncrisis message → top of the console queue: {time.monotonic() - t0:.2f} s")
    assert "crisis" in (await top.get_attribute("class") or "")
    await expect(resident.get_by_test_id("bubble-bot").filter(has_text=HOTLINE).first).to_be_visible(timeout=20_000)
    (first,) = await _deliveries(console_system)
    assert first["endpoint"] == "reply" and HOTLINE in _texts(first)
    assert "quickReply" in first["messages"][-1]  # 「相談をやめる」 on the last bubble, where LINE shows it

    # 3. while queued, the resident writes again: the queue shows it unread, the resident sees no 既読, no bot answer
    await resident_says("だれか話を聞いてください")
    await expect(top).to_contain_text("未読1", timeout=15_000)
    await expect(resident.get_by_test_id("read-mark").filter(has_text="既読")).to_have_count(0)

    # 4. take over: the resident is told (push with a retry key); opening the conversation marks it read
    await top.locator("button.take").click()
    await console.locator("#send-form").wait_for(state="visible")
    await expect(console.locator("#transcript .msg.resident").last).to_contain_text("だれか話を聞いてください")
    await expect(resident.get_by_test_id("bubble-bot").last).to_contain_text("相談員につながりました", timeout=15_000)
    await expect(resident.get_by_test_id("read-mark").last).to_have_text("既読", timeout=15_000)

    # 5. the resident's next message appears live in the console; the bot says nothing (checked on the ledger below)
    t0 = time.monotonic()
    await resident_says("ありがとうございます。学校のことです")
    await expect(console.locator("#transcript .msg.resident").last).to_contain_text("学校のことです", timeout=15_000)
    print(f"resident message → live in the console: {time.monotonic() - t0:.2f} s")
    await expect(resident.get_by_test_id("read-mark").last).to_have_text("既読", timeout=15_000)  # open on screen: read
    await expect(console.locator("#mine li").first).not_to_contain_text("未読")

    # 6. while the counsellor types the resident sees LINE's loading animation; the reply goes out as a push with a
    # retry key through the LINE API (emulator)
    await console.locator("#reply").press_sequentially("相談員です。")
    await expect(resident.get_by_test_id("loading")).to_be_visible(timeout=15_000)
    await console.fill("#reply", "相談員です。学校でどんなことがありましたか？")
    await console.press("#reply", "Enter")
    await expect(resident.get_by_test_id("bubble-bot").last).to_contain_text("どんなことがありましたか", timeout=15_000)

    ARTIFACTS.mkdir(exist_ok=True)
    await console.screenshot(path=str(ARTIFACTS / "console-whole-system-counsellor.png"))

    # 7. hand back to the bot; the bot answers the resident's next message itself
    await console.click("#handback-btn")
    await expect(resident.get_by_test_id("bubble-bot").last).to_contain_text("自動応答に戻ります", timeout=15_000)
    await resident_says("こんにちは")
    await expect(resident.get_by_test_id("bubble-bot").last).to_contain_text("デモ市", timeout=20_000)

    # The ledger, in order: nothing from the bot for the two messages the counsellor held
    deliveries = await _deliveries(console_system)
    assert [d["endpoint"] for d in deliveries] == ["reply", "push", "push", "push", "reply"], deliveries
    taken, answer, handed_back = deliveries[1:4]
    assert "相談員につながりました" in _texts(taken)
    assert _texts(answer) == "相談員です。学校でどんなことがありましたか？"
    assert "自動応答に戻ります" in _texts(handed_back)
    keys = [d["retry_key"] for d in deliveries[1:4]]
    assert all(k and len(k) == 36 for k in keys) and len(set(keys)) == 3
    assert errors == []
    await resident.screenshot(path=str(ARTIFACTS / "console-whole-system-resident.png"))


async def test_web_and_worker_restart_during_a_live_conversation(console_system, browser):
    """Nothing is lost and the counsellor still holds the conversation: session, lock and queue live in Redis."""
    from playwright.async_api import expect

    scene = await open_scene(browser, console_system, "alice")
    resident, console = scene.resident, scene.console

    await resident.get_by_test_id("composer-input").fill("人と話したい")
    await resident.get_by_test_id("send-button").click()
    # the worker queues the request before it replies: wait for the reply, or a stop below could land in between
    await expect(resident.get_by_test_id("bubble-bot").last).to_contain_text("番目にお待ちいただいています", timeout=20_000)
    await console.locator("#queue li button.take").first.click()
    await console.locator("#send-form").wait_for(state="visible")
    await expect(resident.get_by_test_id("bubble-bot").last).to_contain_text("相談員につながりました", timeout=15_000)

    await asyncio.to_thread(console_system.stop, "worker")
    await asyncio.to_thread(console_system.stop, "web")
    await asyncio.to_thread(console_system.start, "web")
    # the webhook is back, the worker is not: the event waits in the Redis inbox
    await resident.get_by_test_id("composer-input").fill("つながっていますか")
    await resident.get_by_test_id("send-button").click()
    await asyncio.to_thread(console_system.start, "worker")
    # the console reconnects on its own, reloads from Redis, and gets the message live
    await expect(console.locator("#transcript .msg.resident").last).to_contain_text("つながっていますか", timeout=30_000)
    await console.fill("#reply", "はい、つながっています。")
    await console.press("#reply", "Enter")
    await expect(resident.get_by_test_id("bubble-bot").last).to_contain_text("はい、つながっています。", timeout=15_000)

    deliveries = await _deliveries(console_system)
    assert [d["endpoint"] for d in deliveries] == ["reply", "push", "push"], deliveries  # the bot stayed silent
    assert _texts(deliveries[-1]) == "はい、つながっています。"
