"""The scheduler's leader lock (bot.leases.run_as_leader) on the lease fake: one leads, a second stands by and
takes over when the first dies (lease expiry) or stops (release)."""

from __future__ import annotations

import asyncio
import time

from bot.leases import MemoryLeases, run_as_leader

TTL, POLL = 0.3, 0.05


def contender(leases: MemoryLeases, owner: str, log: list[tuple[str, str]], stop: asyncio.Event) -> asyncio.Task:
    async def work(lost: asyncio.Event) -> None:
        log.append((owner, "lead"))
        await asyncio.wait([asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())], return_when="FIRST_COMPLETED")
        log.append((owner, "lost" if lost.is_set() else "stopped"))

    return asyncio.create_task(run_as_leader(leases, "scheduler", owner, work, stop, ttl_seconds=TTL, poll_seconds=POLL))


async def _until(check, timeout: float = 3.0) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, "condition not reached"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def test_second_contender_idles_until_the_leader_dies_then_takes_over_within_ttl_and_one_poll():
    leases, log = MemoryLeases(), []
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    a = contender(leases, "a", log, stop_a)
    await _until(lambda: log == [("a", "lead")])
    b = contender(leases, "b", log, stop_b)
    await asyncio.sleep(TTL * 3)  # a keeps renewing: b never leads
    assert log == [("a", "lead")]
    a.cancel()  # SIGKILL: no release, the lease runs out
    took = await _until(lambda: ("b", "lead") in log)
    assert took <= TTL + POLL + 0.1
    stop_b.set()
    await b
    assert log[-1] == ("b", "stopped")


async def test_clean_stop_releases_so_the_standby_takes_over_at_its_next_poll():
    leases, log = MemoryLeases(), []
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    a = contender(leases, "a", log, stop_a)
    await _until(lambda: log == [("a", "lead")])
    b = contender(leases, "b", log, stop_b)
    stop_a.set()
    await a
    took = await _until(lambda: ("b", "lead") in log)
    assert took <= POLL + 0.1 < TTL
    stop_b.set()
    await b


async def test_a_leader_whose_lease_was_taken_stops_working_and_stands_by():
    leases, log = MemoryLeases(), []
    stop = asyncio.Event()
    a = contender(leases, "a", log, stop)
    await _until(lambda: log == [("a", "lead")])
    leases._held["scheduler"] = ("intruder", time.monotonic() + 60)  # e.g. a's renewals stalled past the ttl
    await _until(lambda: ("a", "lost") in log)
    assert log.count(("a", "lead")) == 1  # standing by, not leading again while the other holds it
    stop.set()
    await a
