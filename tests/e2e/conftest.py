"""Fixtures shared by the browser tests."""

from __future__ import annotations

import pytest

from tests.browser import chromium


@pytest.fixture
async def browser():
    """Debian's chromium through Playwright (skips when either is missing)."""
    async with chromium() as b:
        yield b
