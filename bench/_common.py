"""Helpers the benchmark scripts share (they put the repository root on sys.path first)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of one process so far (Linux /proc; children not included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_http(url: str, timeout: float = 30) -> None:
    """Until ``url`` answers below 500 (a server under test has started)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while True:
            try:
                async with s.get(url) as r:
                    if r.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer")
            await asyncio.sleep(0.1)
