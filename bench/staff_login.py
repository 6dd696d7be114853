"""Staff login cost: known vs unknown vs malformed username with the production Argon2id parameters, and the
old unknown-user path (a fresh dummy hash per hasher, the review's 18 ms vs 37 ms) as the same-run baseline.

Prints the median and p90 wall time per login (in-memory store, so the figure is Argon2 plus bookkeeping).
Target: unknown/known median ratio within 0.85-1.15 (no enumeration by timing).

    .venv/bin/python bench/staff_login.py [--n 40]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from argon2.exceptions import VerificationError  # noqa: E402

from staff import LoginPolicy, add_staff, login  # noqa: E402
from staff.store import MemoryStaffStore  # noqa: E402

PW = "correct horse battery staple"


def old_unknown_user(policy: LoginPolicy, password: str) -> None:
    """What an unknown username cost before: a new dummy hash (made lazily, per hasher) and a verify."""
    dummy = policy.hasher.hash("not-a-password-" + secrets.token_hex(8))
    try:
        policy.hasher.verify(dummy, password)
    except VerificationError:
        pass


async def timed(n: int, call) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t) * 1000)
    return out


async def main(n: int) -> None:
    policy = LoginPolicy(free_failures=10**9)  # production hashing; no delay so every attempt is measured
    store = MemoryStaffStore()
    await add_staff(store, "demo", "alice", "counsellor", PW, hasher=policy.hasher)
    rows = {
        "known user, wrong password": await timed(n, lambda: login(store, policy, "demo", "alice", "wrong password 123")),
        "unknown user": await timed(n, lambda: login(store, policy, "demo", "nobody", "wrong password 123")),
        "malformed username (3 MB)": await timed(n, lambda: login(store, policy, "demo", "a" * 3_000_000, "wrong password 123")),
        "baseline: old unknown-user path": await timed(n, lambda: asyncio.to_thread(old_unknown_user, policy, "wrong password 123")),
    }
    for name, ms in rows.items():
        ms.sort()
        print(f"{name:34s} median {statistics.median(ms):6.1f} ms   p90 {ms[int(len(ms) * 0.9) - 1]:6.1f} ms")
    ratio = statistics.median(rows["unknown user"]) / statistics.median(rows["known user, wrong password"])
    print(f"unknown/known median ratio {ratio:.2f} (target 0.85-1.15)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40)
    asyncio.run(main(parser.parse_args().n))
