"""Shared set-up of the counsellor console's whole-system browser tests (test_console_whole_system,
test_crisis_review_whole_system): a tenant whose counsellors work around the clock, staff accounts in the system's
Redis, a resident on the simulator and a counsellor signed in to the console.

The tenants file is written with 24/7 office hours, so the outcome does not depend on the wall clock (the demo
tenant's counsellors work weekdays 09:00–17:30 JST).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis

from staff import RedisStaffStore, add_staff, fast_policy
from tests.browser import sign_in
from tests.system import System, chat_system

PW = "correct horse battery staple"
RESIDENT = "U" + "c0115e11".ljust(32, "0")

TENANTS_24_7 = """\
tenants:
  - id: demo
    display_name: デモ市
    lg_code: "271004"
    demo: true
    office_hours:
      timezone: Asia/Tokyo
      weekly: {mon: "00:00-00:00", tue: "00:00-00:00", wed: "00:00-00:00", thu: "00:00-00:00", fri: "00:00-00:00", sat: "00:00-00:00", sun: "00:00-00:00"}
      cutoff_minutes: 0
    line:
      channel_secret: demo-secret
      channel_token: demo-token
"""


@contextlib.contextmanager
def system_24_7(tmp_path: Path, redis_url: str) -> Iterator[System]:
    """The whole system (emulator, web, worker) on the 24/7 tenants file."""
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(TENANTS_24_7, encoding="utf-8")
    with chat_system(tmp_path, redis_url, extra_env={"CIVICBOT_TENANTS": str(tenants)}) as s:
        yield s


async def add_staff_accounts(redis_url: str, *accounts: tuple[str, str, str]) -> None:
    """(username, role, display name) accounts of tenant demo with password ``PW``. Argon2 hashes carry their
    parameters, so the web process (default policy) verifies these cheap ones."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for username, role, display_name in accounts:
            await add_staff(RedisStaffStore(client), "demo", username, role, PW, display_name=display_name, hasher=fast_policy().hasher)
    finally:
        await client.aclose()


@dataclass
class Scene:
    """A resident's simulator page and a counsellor's console page, side by side; console page errors collected."""

    resident: object  # playwright Page
    console: object  # playwright Page
    errors: list[str] = field(default_factory=list)

    async def resident_says(self, text: str) -> None:
        from playwright.async_api import expect

        await self.resident.get_by_test_id("composer-input").fill(text)
        await self.resident.get_by_test_id("send-button").click()
        await expect(self.resident.get_by_test_id("bubble-user").last).to_contain_text(text)


async def open_scene(browser, system: System, counsellor: str) -> Scene:
    """The counsellor signs in to the console (dialogs are accepted); the resident opens the simulator, connected."""
    from playwright.async_api import expect

    resident = await (await browser.new_context(viewport={"width": 390, "height": 780}, locale="ja-JP")).new_page()
    console = await (await browser.new_context(viewport={"width": 1400, "height": 900}, locale="ja-JP")).new_page()
    scene = Scene(resident, console)
    console.on("pageerror", lambda exc: scene.errors.append(str(exc)))
    console.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await console.goto(f"{system.web}/staff/login")
    await sign_in(console, "demo", counsellor, PW, lands_on=f"{system.web}/console")
    await resident.goto(f"{system.emulator}/simulator?tenant=demo&user={RESIDENT}")
    await expect(resident.locator("body[data-connected=true]")).to_have_count(1)
    return scene
