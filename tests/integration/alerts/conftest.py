"""Fixtures shared by the alerts integration tests."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from alerts.mockfeed import MockFeed, make_app


@pytest.fixture
async def mock():
    """The local stand-in for JMA's Atom feeds on a free port (``feed.base_url``); publish telegrams to it."""
    feed = MockFeed()
    server = TestServer(make_app(feed), host="127.0.0.1")
    await server.start_server()
    feed.base_url = str(server.make_url("")).rstrip("/")
    yield feed
    await server.close()
