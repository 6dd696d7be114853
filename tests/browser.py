"""Playwright on Debian's chromium, the one way browser tests start a browser here.

Playwright's own browser download fails on these machines, so tests drive /usr/bin/chromium; without the
background-networking flags chromium tries to reach Google's hosts and is refused. Skips when either is missing.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from staff.testing import SECRETS, code_for

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
# Screenshots and other leftovers of browser tests: ignored by git, so `make test` leaves the tree clean.
ARTIFACTS = REPO / "tests" / "e2e" / "artifacts"
# The README's pictures. Browser tests write them only when asked (`make screenshots` sets this to 1).
README_IMAGES = REPO / "docs" / "images"
UPDATE_SCREENSHOTS = "CIVICBOT_UPDATE_SCREENSHOTS"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def readme_screenshots() -> Path:
    """Where a test writes a picture the README shows: ``docs/images`` only under ``CIVICBOT_UPDATE_SCREENSHOTS=1``
    (an explicit refresh), otherwise the ignored artifacts folder — a test run never changes tracked files."""
    folder = README_IMAGES if os.environ.get(UPDATE_SCREENSHOTS) == "1" else ARTIFACTS / "readme"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[object]:
    """A launched headless browser (playwright.async_api.Browser), closed on exit."""
    playwright_api = pytest.importorskip("playwright.async_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(page, tenant: str, username: str, password: str, *, lands_on: str) -> None:
    """Fill the staff login form the page shows — and the second factor when the role needs one (enrolling with the
    secret the page shows, like a person with an authenticator app) — then wait until the browser lands on
    ``lands_on`` (URL or glob)."""
    await page.select_option("#tenant", tenant)
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.press("#password", "Enter")
    await page.wait_for_url(lambda url: "/staff/mfa" in url or fnmatch.fnmatch(url, lands_on) or url == lands_on)
    if "/staff/mfa/setup" in page.url:
        secret = (await page.text_content("#totp-secret") or "").strip()
        await page.fill("#code", code_for(secret))
        await page.press("#code", "Enter")
        await page.click("#recovery-codes ~ p a")  # 続ける, after the recovery codes are shown
        SECRETS[(tenant, username)] = secret
    elif "/staff/mfa" in page.url:
        await page.fill("#code", code_for(SECRETS[(tenant, username)], time.time() + 30))
        await page.press("#code", "Enter")
    await page.wait_for_url(lands_on)
