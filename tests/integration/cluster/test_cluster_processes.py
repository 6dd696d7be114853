"""Many processes on the 3-primary/3-replica cluster: 2 web processes sharing one port (SO_REUSEPORT), 3 workers,
a scheduler with a leader lock and a second one started by mistake; a primary SIGKILLed in the middle of a
100,000-recipient emergency fan-out while residents keep writing. The emulator's ledger judges."""

from __future__ import annotations

import asyncio
import collections
import json
import signal
import threading
import time
import urllib.error
import urllib.request
from typing import Self

import pytest
import redis as syncredis

from bot.redis_client import connect
from bot.redis_server import EmbeddedCluster
from bot.users import RedisUserStore
from broadcasts.audience import AudienceQuery
from broadcasts.engine import RedisDeliverer
from broadcasts.jobs import DeliveryJob
from broadcasts.service import seed_subscribers
from tests.integration.alerts.test_alerts_whole_system import (
    FIX,
    Phone,
    _cli,
    _start_mockfeed,
    push_text,
    register_by_taps,
)
from tests.system import System, chat_system, free_port

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

FANOUT = 100_000
ALERT = "【緊急】大津波警報が発表されました。直ちに高台へ避難してください。"


def _is_primary(port: int) -> bool:
    try:
        client = syncredis.Redis(port=port, socket_timeout=1)
        try:
            return client.info("replication")["role"] == "master"
        finally:
            client.close()
    except syncredis.RedisError:
        return False


def _heal(cluster: EmbeddedCluster, port: int) -> None:
    """Start the killed node again; it rejoins as a replica of its promoted replica (the session cluster is 3+3)."""
    cluster.restart(port)
    client = syncredis.Redis(port=port, decode_responses=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with_link = client.info("replication")
        if with_link.get("role") == "slave" and with_link.get("master_link_status") == "up":
            client.close()
            return
        time.sleep(0.2)
    raise AssertionError("the restarted node did not rejoin as a replica")


class Residents:
    """Residents writing to the bot the whole time (a thread): an event LINE got no 200 for is redelivered, as
    LINE does; ``acked`` counts the events the bot acknowledged, per resident."""

    def __init__(self, system: System, tenant: str, n: int = 20) -> None:
        self.system, self.tenant = system, tenant
        self.users = [f"U{i:030d}rs" for i in range(n)]
        self.acked: collections.Counter[str] = collections.Counter()
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(150)
        assert not self._thread.is_alive(), "a resident's event was still not acknowledged"

    def _post(self, payload: dict) -> dict:
        req = urllib.request.Request(self.system.emulator + "/_emulator/send", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:  # 502: the bot was unreachable
            return json.loads(exc.read())

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            user = self.users[i % len(self.users)]
            i += 1
            sent = self._post({"tenant": self.tenant, "user_id": user, "text": "こんにちは"})
            deadline = time.monotonic() + 120
            while sent.get("status") != 200:  # 503 while Redis fails over: LINE redelivers the same event
                assert time.monotonic() < deadline, f"event {sent['webhookEventId']} never acknowledged"
                self.refused += 1
                time.sleep(0.2)
                sent = self._post({"tenant": self.tenant, "user_id": user, "redeliver": sent["webhookEventId"]})
            self.acked[user] += 1
            time.sleep(0.05)


def _stats(system: System) -> dict:
    return system.get("/_emulator/stats")


def test_primary_killed_mid_100k_emergency_fanout_loses_and_duplicates_nothing(tmp_path, redis_cluster, cluster_url, capsys):
    async def seed(url: str) -> None:
        client = connect(url)
        try:
            await seed_subscribers(RedisUserStore(client), "demo", FANOUT)
        finally:
            await client.aclose()

    env = {"CIVICBOT_WEB_REUSE_PORT": "1", "CIVICBOT_REDIS_WAIT_REPLICAS": "1", "CIVICBOT_REDIS_WAIT_TIMEOUT_MS": "500",
           "CIVICBOT_JMA_POLL_SECONDS": "0"}
    primary, (replica,) = redis_cluster.owner("cb:{demo}:x")
    healed = False
    with chat_system(tmp_path, cluster_url, prepare=seed, extra_env=env) as system:
        try:
            for name in ("web2", "worker2", "worker3", "scheduler"):
                system.start(name)
            system.post("/_emulator/config", {"slow_rate": 0.3, "slow_ms": 150})  # a fan-out that lasts a while
            client = connect(cluster_url)
            job = DeliveryJob(tenant="demo", audience=AudienceQuery(tenant="demo", all_friends=True),
                              messages={"ja": [{"type": "text", "text": ALERT}]}, priority="emergency")
            job_id = asyncio.run(_submit(cluster_url, job))
            with Residents(system, "demo") as residents:
                _wait(lambda: _stats(system)["deliveries"] >= FANOUT // 5, 300, "a fifth of the fan-out")
                redis_cluster.node(primary).proc.send_signal(signal.SIGKILL)
                killed = time.monotonic()
                at_kill = _stats(system)["deliveries"]
                _wait(lambda: _is_primary(replica), 60, "the replica to be promoted")
                promoted = time.monotonic() - killed
                time.sleep(0.3)  # multicasts already at the emulator when the primary died finish meanwhile
                settled = _stats(system)["deliveries"]
                _wait(lambda: _stats(system)["deliveries"] > settled, 120, "the fan-out to resume")
                resumed = time.monotonic() - killed
                _wait(lambda: asyncio.run(_state(cluster_url, job_id)) == "done", 600, "the job to finish")
                time.sleep(1.0)
            acked = dict(residents.acked)
            _wait(lambda: all(len(_answers(system, u)) >= n for u, n in acked.items()), 120, "every resident answered")
            time.sleep(2.0)  # anything still in flight (a reclaimed batch, a re-run event) would show up now
            stats = _stats(system)
            to_residents = {u: system.messages_to(u) for u in residents.users}
            del client
            _heal(redis_cluster, primary)
            healed = True
        finally:
            if not healed and not _is_alive(redis_cluster, primary):
                _heal(redis_cluster, primary)
    # the ledger's own "duplicates" also counts a resident's identical answers to two identical messages, so the
    # fan-out is judged by arithmetic: every seeded friend reached (unique) and exactly FANOUT deliveries to them.
    # A resident who became a friend before the planner reached the end of the roster gets the alert too (once).
    answers = {u: sum(not _is_alert(d) for d in got) for u, got in to_residents.items() if u in acked}
    alerted = {u: sum(_is_alert(d) for d in got) for u, got in to_residents.items()}
    seeded = stats["deliveries"] - sum(len(got) for got in to_residents.values())
    with capsys.disabled():
        print(f"\n  failover: primary :{primary} SIGKILLed at {at_kill:,} of {FANOUT:,} deliveries; replica :{replica} "
              f"promoted after {promoted:.1f} s; fan-out resumed {resumed:.1f} s after the kill; "
              f"{sum(acked.values())} resident events acknowledged, {residents.refused} refused (503) and redelivered; "
              f"{sum(alerted.values())} residents had become friends in time to get the alert")
    assert stats["unique_recipients"] == FANOUT + len(acked), stats
    assert seeded == FANOUT, (stats, answers, alerted)
    assert max(alerted.values()) <= 1, alerted
    assert answers == acked  # every acknowledged event answered exactly once
    assert at_kill < FANOUT


def _is_alive(cluster: EmbeddedCluster, port: int) -> bool:
    return cluster.node(port).proc.poll() is None


def _is_alert(delivery: dict) -> bool:
    return ALERT in json.dumps(delivery["messages"], ensure_ascii=False)


def _answers(system: System, user: str) -> list[dict]:
    return [d for d in system.messages_to(user) if not _is_alert(d)]


async def _submit(url: str, job: DeliveryJob) -> str:
    client = connect(url)
    try:
        return await RedisDeliverer(client).submit(job)
    finally:
        await client.aclose()


async def _state(url: str, job_id: str) -> str | None:
    client = connect(url)
    try:
        st = await RedisDeliverer(client).status(job_id)
        return st.state if st else None
    finally:
        await client.aclose()


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_second_scheduler_idles_then_takes_over_and_no_telegram_is_pushed_twice(tmp_path, cluster_url):
    mock_port = free_port()
    env = {"CIVICBOT_JMA_FEED_BASE_URL": f"http://127.0.0.1:{mock_port}/developer/xml/feed/", "CIVICBOT_JMA_POLL_SECONDS": "1",
           "CIVICBOT_SCHEDULER_LEASE_SECONDS": "3", "CIVICBOT_SCHEDULER_STANDBY_POLL_SECONDS": "0.5"}
    with chat_system(tmp_path, cluster_url, extra_env=env) as system:
        minoh = Phone(system, "U" + "c" * 31 + "1")
        register_by_taps(minoh, "箕面市")
        mock = _start_mockfeed(system, mock_port)
        system.start("scheduler")
        system.start("scheduler2")
        _wait(lambda: sum("scheduler started" in system.log(n) for n in ("scheduler", "scheduler2")) == 1, 60, "a leader")
        leader, standby = ("scheduler", "scheduler2") if "scheduler started" in system.log("scheduler") else ("scheduler2", "scheduler")
        _cli(system, "demo-alert", str(FIX / "osaka_VXWW50.xml"), "--mock-url", mock)
        (alert,) = minoh.wait_pushes(1)
        assert push_text(alert).startswith("【土砂災害警戒情報】箕面市")
        time.sleep(3.0)  # several poll cycles: the standby polled nothing
        assert "scheduler started" not in system.log(standby)

        system.stop(leader, signal.SIGKILL)  # no release: the lease runs out (3 s)
        killed = time.monotonic()
        _wait(lambda: "scheduler started" in system.log(standby), 30, "the standby to take over")
        took = time.monotonic() - killed
        assert took < 3 + 0.5 + 2.0, took  # lease ttl + one standby poll (+ process scheduling slack)
        src = (FIX / "osaka_VXWW50.xml").read_text(encoding="utf-8")
        cancel = tmp_path / "cancel_VXWW50.xml"
        cancel.write_text(src.replace("<InfoType>発表</InfoType>", "<InfoType>取消</InfoType>").replace("<Serial>1</Serial>", "<Serial>2</Serial>"),
                          encoding="utf-8")
        _cli(system, "demo-alert", str(cancel), "--mock-url", mock)
        _, follow_up = minoh.wait_pushes(2)
        assert push_text(follow_up).startswith("【取消】")
        time.sleep(3.0)  # the new leader re-read the whole feed: the first telegram must not be pushed again
        assert len(minoh.pushes()) == 2
        assert _stats(system)["duplicates"] == 0
