"""Crisis marks in a real browser (Debian chromium via Playwright), console and review list on Redis-backed stores.

A counsellor holds a consultation; the resident writes something the detector let through; the counsellor marks it
「危険を見逃した」 (自傷) and an earlier message 「危険ではない」; the supervisor confirms the first in
/admin/crisis-review with a corrected category and rejects nothing else.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

import handoff
from bot.chat import Incoming
from crisisreview import ConsoleMarks, RedisCrisisReviewStore, ReviewDeps
from crisisreview import web as review_web
from crisisreview.testing import TableAssessor
from handoff import HandoffDeps, HandoffRoom, RecordingLinePort, RedisHandoffBus, RedisHandoffStore
from handoff.testing import build_app, demo_tenants
from nlu.risk import default_risk_assessor
from staff import RedisStaffStore, add_staff, fast_policy
from tests.browser import chromium, sign_in
from tests.system import free_port

pytestmark = pytest.mark.browser
PW = "correct horse battery"
MISSED = "さっき手首を切った。血が止まらない"
FINE = "引っ越しの手続きを知りたいです"
FLAGGED = "もう死にたい。今夜で終わりにする"


@pytest.fixture
async def site(redis):
    tenants = demo_tenants()
    staff_store = RedisStaffStore(redis)
    policy = fast_policy()
    await add_staff(staff_store, "demo", "alice", "counsellor", PW, display_name="相談員A", hasher=policy.hasher)
    await add_staff(staff_store, "demo", "sam", "supervisor", PW, display_name="SV佐藤", hasher=policy.hasher)
    deps = HandoffDeps(store=RedisHandoffStore(redis), bus=RedisHandoffBus(redis), line=RecordingLinePort())
    review = ReviewDeps(
        store=RedisCrisisReviewStore(redis),
        assessor=TableAssessor({FINE: ("concern", "suicide", "ja"), FLAGGED: ("crisis", "suicide", "ja")}),
    )
    app = build_app(staff_store, deps, tenants, policy=policy, cookie_secure=True, crisis_marks=ConsoleMarks(review))
    app.add_subapp("/admin/crisis-review", review_web.create_app(review))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield deps, review, tenants, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_counsellor_marks_supervisor_confirms(site):
    deps, review, tenants, base = site
    demo = tenants["demo"]
    cid = (await handoff.request_handoff(deps, demo, "U1", summary="手続きの相談")).conversation_id
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1400, "height": 900}, locale="ja-JP")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/staff/login")
        await sign_in(page, "demo", "alice", PW, lands_on=f"{base}/console")
        await page.locator("#queue li button.take").first.click()
        await page.locator("#send-form").wait_for(state="visible")
        for n, text in enumerate((FINE, MISSED)):
            incoming = Incoming(
                tenant=demo, user_id="U1", kind="text", webhook_event_id=f"e{n}", timestamp_ms=0, text=text, message_id=f"m{n}"
            )
            await handoff.on_resident_message(deps, demo, "U1", incoming)
        missed = page.locator("#transcript .msg.resident", has_text=MISSED)
        await missed.locator("details.crisis-mark").wait_for()
        assert await page.locator("#transcript .msg.counsellor .crisis-mark, #transcript .msg.system .crisis-mark").count() == 0

        await missed.locator("summary").click()
        await missed.locator("button.crisis-missed").click()  # no category yet: asked for one, nothing recorded
        await missed.locator(".crisis-status", has_text="カテゴリを選んでください").wait_for()
        assert await review.store.pending("demo") == []
        await missed.locator("select.crisis-category").select_option(label="自傷")
        await missed.locator("button.crisis-missed").click()
        await missed.locator(".crisis-status", has_text="記録しました").wait_for()

        fine = page.locator("#transcript .msg.resident", has_text=FINE)
        await fine.locator("summary").click()
        await fine.locator("button.crisis-none").click()
        await fine.locator(".crisis-status", has_text="危険ではない").wait_for()
        items = {i.message_ref: i for i in await review.store.pending("demo")}
        assert (items["m1"].verdict, items["m1"].category, items["m1"].text, items["m1"].marked_by) == (
            "missed",
            "self_harm",
            MISSED,
            "alice",
        )
        assert (items["m0"].verdict, items["m0"].bot_level) == ("not_crisis", "concern")
        assert cid not in items["m1"].conversation_ref

        sv = await (await browser.new_context(viewport={"width": 1200, "height": 900}, locale="ja-JP")).new_page()
        await sv.goto(f"{base}/staff/login")
        await sign_in(sv, "demo", "sam", PW, lands_on=f"{base}/console")
        await sv.goto(f"{base}/admin/crisis-review/")
        card = sv.locator("section.review-item", has_text=MISSED)
        await card.wait_for()
        assert "自傷" in await card.inner_text() and "検知なし" in await card.inner_text()
        await card.locator("select").select_option("suicide")
        await card.locator("button[value=confirmed]").click()
        await sv.locator("[role=status]", has_text="確認しました").wait_for()
        await sv.locator("section.review-item", has_text=FINE).locator("button[value=confirmed]").click()
        await sv.locator("text=確認を待っている記録はありません").wait_for()
        decided = {i.message_ref: (i.status, i.label, i.reviewed_by) for i in await review.store.reviewed("demo")}
        assert decided == {"m1": ("confirmed", "suicide", "sam"), "m0": ("confirmed", "none", "sam")}
        assert errors == []


async def test_a_flagged_message_in_a_held_conversation_keeps_the_marks_in_progress(site):
    """A crisis signal inside a held conversation raises it to 危機, which makes the console reload the conversation.
    That reload used to rebuild the transcript: a mark the counsellor had opened (category chosen) closed and lost
    its choice, and the flagged message's own control could vanish under the counsellor's pointer."""
    deps, review, tenants, base = site
    demo = tenants["demo"]
    assessment = default_risk_assessor().assess(FLAGGED)
    assert assessment.level == "crisis"  # the premise: the crisis layer flags it, as held_middleware would
    room = HandoffRoom(deps)
    await handoff.request_handoff(deps, demo, "U1", summary="手続きの相談")

    def said(n: int, text: str) -> Incoming:
        return Incoming(
            tenant=demo, user_id="U1", kind="text", webhook_event_id=f"e{n}", timestamp_ms=0, text=text, message_id=f"m{n}"
        )

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1400, "height": 900}, locale="ja-JP")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/staff/login")
        await sign_in(page, "demo", "alice", PW, lands_on=f"{base}/console")
        await page.locator("#queue li button.take").first.click()
        await page.locator("#send-form").wait_for(state="visible")
        await page.locator("#conv-name", has_text="通常").wait_for()

        assert await room.on_resident_message(said(0, FINE)) == []
        fine = page.locator("#transcript .msg.resident", has_text=FINE)
        await fine.locator("summary").click()
        await fine.locator("select.crisis-category").select_option(label="自傷")  # the counsellor starts a mark

        assert await room.on_resident_message(said(1, FLAGGED), assessment) == []  # held: the bot stays silent
        await page.locator("#conv-name", has_text="危機").wait_for()  # the console reloaded the conversation
        await page.locator("#transcript .msg.system", has_text="危機の兆候").wait_for()
        assert await fine.locator("details.crisis-mark").evaluate("d => d.open") is True
        assert await fine.locator("select.crisis-category").input_value() == "self_harm"
        assert await page.locator("#transcript .msg", has_text=FLAGGED).count() == 1

        flagged = page.locator("#transcript .msg.resident", has_text=FLAGGED)
        await flagged.locator("summary").click()
        await flagged.locator("button.crisis-none").click()
        await flagged.locator(".crisis-status", has_text="記録しました").wait_for()
        await fine.locator("button.crisis-missed").click()
        await fine.locator(".crisis-status", has_text="記録しました").wait_for()
        items = {i.message_ref: (i.verdict, i.category, i.bot_level) for i in await review.store.pending("demo")}
        assert items == {"m0": ("missed", "self_harm", "concern"), "m1": ("not_crisis", None, "crisis")}
        assert errors == []


async def test_a_message_before_the_first_load_keeps_its_mark_in_progress(site):
    """Taken, and the resident writes before the console has loaded the conversation: the live message is shown at
    once and the counsellor may open its mark. The first load used to rebuild the transcript and close it."""
    deps, review, tenants, base = site
    demo = tenants["demo"]
    await handoff.request_handoff(deps, demo, "U1", summary="手続きの相談")
    gate = asyncio.Event()
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1400, "height": 900}, locale="ja-JP")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{base}/staff/login")
        await sign_in(page, "demo", "alice", PW, lands_on=f"{base}/console")

        async def slow_detail(route):  # the conversation's first load is slow (a busy server)
            await gate.wait()
            await route.continue_()

        await page.route("**/console/api/conversations/*", slow_detail)  # the detail GET, not …/take
        await page.locator("#queue li button.take").first.click()
        await page.locator("#mine li.selected").wait_for()  # taken and on screen; its transcript is still loading
        incoming = Incoming(
            tenant=demo, user_id="U1", kind="text", webhook_event_id="e0", timestamp_ms=0, text=FINE, message_id="m0"
        )
        await handoff.on_resident_message(deps, demo, "U1", incoming)
        fine = page.locator("#transcript .msg.resident", has_text=FINE)
        await fine.locator("summary").click()
        await fine.locator("select.crisis-category").select_option(label="自傷")
        assert await page.locator("#send-form").is_hidden()  # not loaded yet: no reply form

        gate.set()
        await page.locator("#send-form").wait_for(state="visible")  # loaded: the holder may write
        assert await fine.locator("details.crisis-mark").evaluate("d => d.open") is True
        assert await fine.locator("select.crisis-category").input_value() == "self_harm"
        assert await page.locator("#transcript .msg.resident").count() == 1
        await fine.locator("button.crisis-missed").click()
        await fine.locator(".crisis-status", has_text="記録しました").wait_for()
        assert [(i.message_ref, i.verdict) for i in await review.store.pending("demo")] == [("m0", "missed")]
        assert errors == []
