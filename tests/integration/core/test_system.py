"""The real processes together: emulator → signed webhook → Redis inbox → worker → LINE API (emulator)."""

from __future__ import annotations

import signal
import time

import pytest

from tests.system import System

pytestmark = pytest.mark.slow


@pytest.fixture
def system(tmp_path, redis_url):
    import redis as syncredis

    syncredis.Redis.from_url(redis_url).flushdb()
    s = System(tmp_path, redis_url)
    yield s
    s.stop_all()


def test_message_gets_one_reply_through_the_whole_pipeline(system):
    system.start("emulator")
    system.start("web")
    system.start("worker")
    user = "U" + "0" * 31 + "1"
    system.say(user, "こんにちは")
    (delivery,) = system.wait_messages(user, 1)
    assert delivery["endpoint"] == "reply"
    assert delivery["messages"][0]["type"] == "text"


def test_redelivered_event_is_answered_once(system):
    system.start("emulator")
    system.start("web")
    system.start("worker")
    user = "U" + "0" * 31 + "2"
    sent = system.say(user, "こんにちは")
    system.post("/_emulator/send", {"tenant": "demo", "user_id": user, "redeliver": sent["webhookEventId"]})
    system.post("/_emulator/send", {"tenant": "demo", "user_id": user, "redeliver": sent["webhookEventId"]})
    system.wait_messages(user, 1)
    time.sleep(1.0)
    assert len(system.messages_to(user)) == 1


def test_worker_killed_and_restarted_loses_nothing(system):
    """Events queued while the worker is down (and one it was killed during) are all answered exactly once."""
    system.start("emulator")
    system.start("web")
    system.start("worker")
    users = [f"U{n:032d}" for n in range(1, 31)]
    for u in users[:10]:
        system.say(u, "こんにちは")
    system.stop("worker", signal.SIGKILL)  # no cleanup, leases left behind, maybe mid-event
    for u in users[10:]:
        system.say(u, "こんにちは")  # the webhook keeps acknowledging: events wait in Redis
    system.start("worker")  # takes over the shards once the dead worker's leases expire (15 s)
    deadline = time.monotonic() + 45
    missing = users
    while time.monotonic() < deadline and missing:
        missing = [u for u in users if not system.messages_to(u)]
        time.sleep(0.3)
    assert not missing, f"{len(missing)} residents never got an answer"
    stats = system.get("/_emulator/stats")
    assert stats["duplicates"] == 0
    assert all(len(system.messages_to(u)) == 1 for u in users)
