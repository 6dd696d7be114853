"""Crisis review through the whole system: resident simulator → emulator → webhook → worker → handoff → console
(web process) → the counsellor marks a message the bot missed → the supervisor confirms it in /admin/crisis-review
→ `civicbot triage audit` counts it. Proves the composition root wires the room (console port, admin page, CLI)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import redis.asyncio as aioredis

from crisisreview import RedisCrisisReviewStore
from nlu.risk import default_risk_assessor
from tests.browser import sign_in
from tests.e2e.console_scene import PW, open_scene
from tests.system import REPO

pytestmark = pytest.mark.browser
# A warning sign the crisis layer does not flag (belongings given away): the case a counsellor's mark is for.
# (Former examples, 「…いなくなったほうがいいと思う」 and 「部屋の片付けは全部終わりました…」, are now caught; a flagged message is not a "missed" one.)
MISSED = "家のことは全部片付けました。猫は友だちに預けました"


def test_the_example_is_one_the_crisis_layer_misses():
    assert default_risk_assessor().assess(MISSED).level == "none"


async def _reviewed(redis_url: str) -> list:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return await RedisCrisisReviewStore(client).reviewed("demo")
    finally:
        await client.aclose()


async def test_a_missed_crisis_is_marked_confirmed_and_audited(console_system, browser, redis_url):
    from playwright.async_api import expect

    scene = await open_scene(browser, console_system, "alice")
    console, errors, resident_says = scene.console, scene.errors, scene.resident_says
    await resident_says("人と話したい")
    await console.locator("#queue li button.take").first.click(timeout=30_000)
    await console.locator("#send-form").wait_for(state="visible")
    await resident_says(MISSED)
    message = console.locator("#transcript .msg.resident", has_text=MISSED)
    await message.locator("details.crisis-mark").wait_for(timeout=30_000)
    await message.locator("summary").click()
    await expect(message.locator("details.crisis-mark")).to_have_js_property("open", True)
    await message.locator("select.crisis-category").select_option("suicide")
    await message.locator("button.crisis-missed").click()
    await expect(message.locator(".crisis-status")).to_contain_text("記録しました", timeout=20_000)

    supervisor = await (await browser.new_context(viewport={"width": 1200, "height": 900}, locale="ja-JP")).new_page()
    await supervisor.goto(f"{console_system.web}/staff/login")
    await sign_in(supervisor, "demo", "sam", PW, lands_on=f"{console_system.web}/console")
    await supervisor.goto(f"{console_system.web}/admin/")
    await supervisor.get_by_role("link", name="危険の見逃し・誤報の確認").click()
    card = supervisor.locator("section.review-item", has_text=MISSED)
    await expect(card).to_contain_text("自殺念慮", timeout=20_000)
    await card.locator("button[value=confirmed]").click()
    await expect(supervisor.locator("[role=status]")).to_contain_text("確認しました", timeout=20_000)
    assert errors == []

    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "triage", "audit", "--tenant", "demo"],
        env=console_system.env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["reviewed"] == 1 and report["at_the_time"]["overall"]["crisis_items"] == 1
    (item,) = await _reviewed(redis_url)
    assert (item.text, item.label, item.marked_by, item.reviewed_by) == (MISSED, "suicide", "alice", "sam")
    flagged = 1.0 if item.bot_level != "none" else 0.0  # what the shipped detector said when the message was marked
    assert report["at_the_time"]["by_category"]["suicide"]["recall_crisis_or_concern"] == flagged
    assert MISSED not in console_system.log("web")
