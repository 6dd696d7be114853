"""Thread pools of the native numerical libraries (OpenBLAS/MKL, OpenMP), limited once per process.

The bot's matrix products are small (the fallback NLU's classifier, the FAQ index: a few MFLOP per question).
Multithreaded BLAS splits them over every core and then waits for the busy ones: on a shared 2-core host the
fallback NLU's parse p50 went from ~0.5 ms to 10–16 ms under load, and the FAQ search p95 past 300 ms. One thread
per process is faster there, and the web/worker processes are the parallelism. The composition root calls
``limit_native_threads`` at process start (``Settings.native_threads``); nothing is changed at import time.
"""

from __future__ import annotations

import numpy  # noqa: F401 — loads OpenBLAS so that the limit below reaches it (threadpoolctl sees loaded libraries)
from threadpoolctl import threadpool_info, threadpool_limits


def limit_native_threads(threads: int) -> None:
    """Cap every loaded BLAS/OpenMP pool of this process at ``threads`` (≥ 1) for the rest of its life."""
    if threads < 1:
        raise ValueError("native_threads must be at least 1")
    threadpool_limits(limits=threads)


def native_threads() -> dict[str, int]:
    """The current thread count of each loaded pool, by its API (``blas``, ``openmp``): for logs and tests."""
    out: dict[str, int] = {}
    for pool in threadpool_info():
        out[pool["user_api"]] = max(out.get(pool["user_api"], 0), int(pool["num_threads"]))
    return out
