"""The real processes together: emulator → signed webhook → Redis inbox → worker → LINE API (emulator), on one
Redis server and on the 3-primary/3-replica cluster."""

from __future__ import annotations

import signal
import time

import pytest

from bot.redis_client import connect
from tests.system import OPS_HEADERS, System, flush

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_url(any_redis_url) -> str:
    return any_redis_url


@pytest.fixture
def system(tmp_path, redis_url):
    flush(redis_url)
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


def test_crisis_message_gets_hotlines_first_and_tops_the_queue_with_rasa_down(system, redis_url):
    """Rasa is not running here (CIVICBOT_NLU_URL points at a closed port): the crisis layer still answers."""
    import asyncio

    import handoff

    system.start("emulator")
    system.start("web")
    system.start("worker")
    calm, crisis = "U" + "0" * 31 + "5", "U" + "0" * 31 + "6"
    system.say(calm, "人と話したい")
    system.wait_messages(calm, 1)
    system.say(crisis, "もう死にたい")
    (first, *_) = system.wait_messages(crisis, 1)
    assert first["endpoint"] == "reply"
    text = "\n".join(m.get("text", "") for m in first["messages"])
    assert "0120-279-338" in text  # よりそいホットライン in the very first reply

    async def queue():
        client = connect(redis_url)
        try:
            return await handoff.RedisHandoffStore(client).queue("demo")
        finally:
            await client.aclose()

    waiting = asyncio.run(queue())
    assert waiting, "the crisis request was not queued"
    assert waiting[0].risk == "crisis" and waiting[0].user_id == crisis
    assert len(waiting) == 2  # the calm request waits behind it


def test_web_process_serves_dashboard_metrics_readiness_and_staff_pages(system):
    import urllib.error
    import urllib.request

    system.start("emulator")
    system.start("web")
    system.start("worker")
    user = "U" + "0" * 31 + "7"
    system.say(user, "こんにちは")
    system.wait_messages(user, 1)

    def get(path: str, ops: bool = False) -> tuple[int, str]:
        try:
            req = urllib.request.Request(system.web + path, headers={"Accept": "text/html", **(OPS_HEADERS if ops else {})})
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    status, html = get("/dashboard/demo")
    assert status == 200 and "デモ市" in html
    assert get("/dashboard")[0] == 200
    assert get("/metrics")[0] == 404  # without the operations token there is no such page
    status, metrics = get("/metrics", ops=True)
    assert status == 200 and "webhook" in metrics
    status, terse = get("/readyz")
    assert status == 503 and "redis" not in terse
    status, ready = get("/readyz", ops=True)
    # no scheduler runs in this test, so the JMA feeds were never polled: not ready, and it says why
    assert status == 503, ready
    assert "redis" in ready and "feeds" in ready
    status, page = get("/console")  # urllib follows the redirect to the login page
    assert status == 200 and "ログイン" in page
    status, page = get("/admin")  # the menu lists the pages of one's role: behind the login too
    assert status == 200 and "ログイン" in page
    status, page = get("/admin/faq/")
    assert status == 200 and "ログイン" in page


def test_broadcast_from_the_cli_reaches_every_friend_once_through_the_worker(system):
    import subprocess
    import sys

    from tests.system import REPO

    system.start("emulator")
    system.start("web")
    system.start("worker")
    friends = [f"U{n:031d}b" for n in range(1, 8)]
    for u in friends:
        system.post("/_emulator/send", {"tenant": "demo", "user_id": u, "type": "follow"})
    for u in friends:
        system.wait_messages(u, 1)  # the welcome
    system.post("/_emulator/send", {"tenant": "demo", "user_id": friends[-1], "type": "unfollow"})
    time.sleep(1.0)
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "broadcast", "send", "--tenant", "demo", "--all", "--text", "本日は市役所の窓口を19時まで延長します。"],
        env=system.env, cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )
    job_id = out.stdout.strip().splitlines()[-1]
    for u in friends[:-1]:
        got = system.wait_messages(u, 2)
        assert got[-1]["messages"][0]["text"].startswith("本日は市役所")
    time.sleep(1.0)
    assert len(system.messages_to(friends[-1])) == 1  # unfollowed: never pushed again
    assert system.get("/_emulator/stats")["duplicates"] == 0
    status = subprocess.run(
        [sys.executable, "-m", "app.cli", "broadcast", "status", job_id, "--json"],
        env=system.env, cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )
    assert '"sent": 6' in status.stdout.replace(" ", "").replace('"sent":6', '"sent": 6')
