"""Feed poller against the local mock JMA feed server: conditional GET, fetch once, failures retried."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.feeds import (
    FeedConfig,
    JmaFeedPoller,
    MemorySeenStore,
    RedisSeenStore,
    parse_feed,
    telegram_handler,
)
from alerts.geo import Gazetteer
from alerts.jma.parser import TelegramError
from alerts.service import AlertDeps, MemoryAlertLedger
from broadcasts.jobs import MemoryDeliverer
from tests.conftest import BACKENDS, redis_for

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "jmx"


@pytest.fixture(params=BACKENDS)
def seen(request):
    return MemorySeenStore() if request.param == "memory" else RedisSeenStore(redis_for(request))


@pytest.fixture
async def rig(mock, seen):
    deliverer = MemoryDeliverer()
    deps = AlertDeps(deliverer, Gazetteer.load(), MemoryAlertLedger(), tenants=lambda: ["demo"])
    poller = JmaFeedPoller(FeedConfig(base_url=mock.base_url + "/developer/xml/feed/"), seen, telegram_handler(deps))
    yield mock, poller, deliverer
    await poller.close()


async def test_new_entry_fetched_once_then_304(rig):
    mock, poller, deliverer = rig
    url = mock.publish((FIX / "osaka_VPWW55_level4.xml").read_bytes())
    first = await poller.poll_once()
    assert (first.fetched, first.jobs) == (1, 2) and len(deliverer.jobs) == 2
    second = await poller.poll_once()
    assert second.not_modified == 2 and second.fetched == 0
    # the feed changes (another entry, plus the old one listed again): the old telegram is not fetched again
    mock.publish((FIX / "osaka_VXSE51_5minus.xml").read_bytes())
    mock.publish(b"", duplicate_of=url)
    third = await poller.poll_once()
    assert third.fetched == 1 and mock.telegram_fetches(url) == 1


async def test_feed_down_5xx_and_malformed_are_retried(rig):
    mock, poller, deliverer = rig
    mock.publish((FIX / "osaka_VPWW55_level4.xml").read_bytes())
    mock.fail_next = [503]
    mock.malformed_next = 1
    stats = await poller.poll_once()  # extra.xml → 503, eqvol.xml → malformed
    assert stats.feed_errors == 2 and deliverer.jobs == {}
    stats = await poller.poll_once()
    assert stats.fetched == 1 and len(deliverer.jobs) == 2


async def test_server_unreachable_is_logged_not_raised(seen):
    poller = JmaFeedPoller(FeedConfig(base_url="http://127.0.0.1:9/feed/", timeout_s=2), seen, lambda d, e: None)
    stats = await poller.poll_once()
    await poller.close()
    assert stats.feed_errors == 2


async def test_processing_failure_keeps_entry_for_retry(mock, seen):
    calls = []

    async def flaky(data, entry):
        calls.append(entry.id)
        if len(calls) == 1:
            raise ConnectionError("deliverer down")
        return 1

    poller = JmaFeedPoller(FeedConfig(base_url=mock.base_url + "/developer/xml/feed/"), seen, flaky)
    mock.publish((FIX / "osaka_VPWW55_level4.xml").read_bytes())
    await poller.poll_once()
    assert (await poller.poll_once()).not_modified == 2  # feed unchanged …
    poller._validators.clear()  # … but on the next real change the unseen entry is tried again
    stats = await poller.poll_once()
    await poller.close()
    assert stats.jobs == 1 and len(calls) == 2


async def test_unwanted_types_and_other_prefectures_are_not_fetched(rig):
    mock, poller, deliverer = rig
    other = mock.publish((FIX / "15_16_03_241226_VPWW55.xml").read_bytes(), area="011000")
    unsupported = mock.publish((FIX / "01_01_01_091210_VGSK50.xml").read_bytes(), ttype="VGSK50")
    stats = await poller.poll_once()
    assert stats.skipped == 2 and stats.fetched == 0
    assert mock.telegram_fetches(other) == mock.telegram_fetches(unsupported) == 0


async def test_hostile_telegram_is_logged_and_marked(rig):
    mock, poller, deliverer = rig
    url = mock.publish(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><Report>&x;</Report>', ttype="VPWW55")
    stats = await poller.poll_once()
    assert stats.telegram_errors == 1 and deliverer.jobs == {}
    mock.publish(b"", duplicate_of=url)
    await poller.poll_once()
    assert mock.telegram_fetches(url) == 1


async def test_long_feeds_fill_the_gap(rig):
    mock, poller, deliverer = rig
    mock.publish((FIX / "osaka_VTSE41_warning.xml").read_bytes())
    stats = await poller.poll_once(long=True)
    assert stats.fetched == 1
    assert any(r.endswith("eqvol_l.xml") for r in mock.requests)


def test_parse_feed_refuses_hostile_and_malformed():
    with pytest.raises(TelegramError):
        parse_feed(b'<!DOCTYPE f [<!ENTITY a SYSTEM "file:///etc/passwd">]><feed>&a;</feed>')
    with pytest.raises(TelegramError):
        parse_feed(b"<feed")


async def test_oversized_telegram_is_refused_once(mock, seen):
    handled = []

    async def handle(data, entry):
        handled.append(entry.id)
        return 0

    config = FeedConfig(base_url=mock.base_url + "/developer/xml/feed/", max_telegram_bytes=64 * 1024)
    poller = JmaFeedPoller(config, seen, handle)
    body = (FIX / "osaka_VPWW55_level4.xml").read_bytes()
    url = mock.publish(body.replace(b"</Report>", b"<!--" + b"x" * 200_000 + b"--></Report>"), ttype="VPWW55")
    stats = await poller.poll_once()
    mock.publish(b"", duplicate_of=url)
    await poller.poll_once()
    await poller.close()
    assert stats.telegram_errors == 1 and handled == [] and mock.telegram_fetches(url) == 1


async def test_entries_older_than_max_age_are_not_pushed_late(mock, seen):
    import time as _time

    handled = []

    async def handle(data, entry):
        handled.append(entry.id)
        return 1

    mock.publish((FIX / "osaka_VPWW55_level4.xml").read_bytes())
    later = _time.time() + 2 * 3600  # the poller starts two hours after the entry was published
    poller = JmaFeedPoller(FeedConfig(base_url=mock.base_url + "/developer/xml/feed/"), seen, handle, clock=lambda: later)
    stats = await poller.poll_once(long=True)
    mock.publish((FIX / "osaka_VXSE53_5plus.xml").read_bytes())
    poller._clock = _time.time
    fresh = await poller.poll_once()
    await poller.close()
    assert stats.skipped == 1 and stats.fetched == 0 and fresh.fetched == 1 and len(handled) == 1


@pytest.fixture(params=BACKENDS)
def archive(request):
    from alerts.service import MemoryTelegramArchive, RedisTelegramArchive

    return MemoryTelegramArchive() if request.param == "memory" else RedisTelegramArchive(redis_for(request))


async def test_archive_contract(archive):
    for i in range(105):
        await archive.record("drill", {"n": i})
    recent = await archive.recent("drill", 200)
    assert len(recent) == 100 and recent[0]["n"] == 104 and recent[0]["raw"] is None
    assert await archive.recent("rejected") == []


async def test_unreadable_telegram_is_kept_for_staff(mock, seen, archive):
    async def handle(data, entry):
        from alerts.jma.parser import parse_telegram

        parse_telegram(data)
        return 0

    poller = JmaFeedPoller(FeedConfig(base_url=mock.base_url + "/developer/xml/feed/"), seen, handle, archive=archive)
    mock.publish(b"<Report><Control>broken", ttype="VPWW55")
    await poller.poll_once()
    await poller.close()
    [kept] = await archive.recent("rejected")
    assert kept["type"] == "VPWW55" and "malformed" in kept["error"] and kept["raw"] == "<Report><Control>broken"


async def test_telegram_links_to_other_hosts_are_not_fetched(mock, seen):
    """Review "also seen": telegram URLs from the feed were fetched without a host allow-list (SSRF by feed)."""
    own = mock.base_url
    mock.base_url = own.replace("127.0.0.1", "localhost")  # entries now link to a host that is neither JMA nor the feed
    url = mock.publish((FIX / "osaka_VPWW55_level4.xml").read_bytes())
    handled = []

    async def handle(data, entry):
        handled.append(entry.url)
        return 1

    poller = JmaFeedPoller(FeedConfig(base_url=own + "/developer/xml/feed/"), seen, handle)
    try:
        stats = await poller.poll_once()
        again = await poller.poll_once()
    finally:
        await poller.close()
    assert handled == [] and stats.telegram_errors == 1 and stats.fetched == 0
    assert not [r for r in mock.requests if "/data/" in r], url
    assert stats.new_entries == 1 and again.telegram_errors == 0  # refused once, not every minute


def test_default_allow_list_is_jmas_host_and_the_feed_base():
    config = FeedConfig(base_url="http://127.0.0.1:9191/developer/xml/feed/")
    assert config.telegram_host_allowed("http://127.0.0.1:9191/developer/xml/data/x.xml")
    assert config.telegram_host_allowed("https://www.data.jma.go.jp/developer/xml/data/x.xml")
    assert not config.telegram_host_allowed("http://169.254.169.254/latest/meta-data/")
    assert not config.telegram_host_allowed("file:///etc/passwd")
    assert not config.telegram_host_allowed("https://www.data.jma.go.jp.evil.example/x.xml")
