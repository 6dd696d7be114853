"""Fixtures shared by the browser tests."""

from __future__ import annotations

import os

import pytest

from tests.browser import README_IMAGES, UPDATE_SCREENSHOTS, chromium
from tests.e2e.console_scene import add_staff_accounts, system_24_7


@pytest.fixture
async def browser():
    """Debian's chromium through Playwright (skips when either is missing)."""
    async with chromium() as b:
        yield b


@pytest.fixture
async def console_system(tmp_path, redis_url):
    """The whole system on a 24/7 tenant with a counsellor (alice) and a supervisor (sam): tests/e2e/console_scene.py."""
    with system_24_7(tmp_path, redis_url) as s:
        await add_staff_accounts(redis_url, ("alice", "counsellor", "相談員A"), ("sam", "supervisor", "SV佐藤"))
        yield s


def _pictures() -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in README_IMAGES.glob("*") if p.is_file()}


@pytest.fixture(autouse=True)
def readme_pictures_untouched(request):
    """A browser test leaves the README's pictures alone unless `make screenshots` asked for new ones: a test run
    must not leave the tree dirty (pictures go to tests/e2e/artifacts, tests.browser.readme_screenshots)."""
    if request.node.get_closest_marker("browser") is None or os.environ.get(UPDATE_SCREENSHOTS) == "1":
        yield
        return
    before = _pictures()
    yield
    assert _pictures() == before, f"{request.node.nodeid} wrote into {README_IMAGES}; only `make screenshots` may"
