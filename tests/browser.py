"""Playwright on Debian's chromium, the one way browser tests start a browser here.

Playwright's own browser download fails on these machines, so tests drive /usr/bin/chromium; without the
background-networking flags chromium tries to reach Google's hosts and is refused. Skips when either is missing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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
    """Fill the staff login form the page shows and wait until the browser lands on ``lands_on`` (URL or glob)."""
    await page.select_option("#tenant", tenant)
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.press("#password", "Enter")
    await page.wait_for_url(lands_on)
