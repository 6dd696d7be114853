"""A bare delivery worker process for fault tests and benchmarks (production runs ``civicbot serve worker``).

    python -m app.delivery_worker --redis-url redis://127.0.0.1:6379/0 --line-url http://127.0.0.1:9090 \
        --tenant t1 [--rate multicast=200] [--concurrency 16] < tokens.json

Channel tokens come as JSON ``{"t1": "token"}`` on stdin, never on the command line. Audience: every active friend
(``FriendsAudience`` over ``RedisUserStore``). Stops on SIGTERM/SIGINT; ``kill -9`` is what the fault tests do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys

from bot.redis_client import connect as connect_redis
from bot.users import RedisUserStore
from broadcasts.engine import EngineOptions
from broadcasts.fastline import FastMulticastLinePort
from broadcasts.friends import FriendsAudience
from broadcasts.line import SdkLinePort
from broadcasts.service import DeliveryDeps, run_delivery_worker


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m app.delivery_worker")
    p.add_argument("--redis-url", required=True)
    p.add_argument("--line-url", required=True)
    p.add_argument("--tenant", action="append", required=True)
    p.add_argument("--rate", action="append", default=[], help="endpoint=requests_per_second")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--reclaim-idle", type=float, default=60.0)
    p.add_argument("--name")
    p.add_argument("--with-language", action="store_true")
    p.add_argument("--fast-multicast", action="store_true", help="FastMulticastLinePort (multicast without SDK models)")
    return p.parse_args(argv)


async def _main(args: argparse.Namespace, tokens: dict[str, str]) -> None:
    client = connect_redis(args.redis_url)
    port_class = FastMulticastLinePort if args.fast_multicast else SdkLinePort
    line = port_class(tokens, args.line_url, max_connections=max(16, args.concurrency * 2))
    users = RedisUserStore(client)
    rates = {k: float(v) for k, v in (r.split("=", 1) for r in args.rate)}
    opts = EngineOptions(
        concurrency=args.concurrency,
        reclaim_idle_seconds=args.reclaim_idle,
        reclaim_interval=min(5.0, args.reclaim_idle / 4),
        backoff_base=0.05,
        backoff_cap=2.0,
    )
    deps = DeliveryDeps(
        redis=client,
        line=line,
        users=users,
        audience=FriendsAudience(users, with_language=args.with_language),
        tenants=args.tenant,
        options=opts,
        rates=rates,
        worker_name=args.name,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    for tenant in args.tenant:
        line.warm(tenant)  # import the SDK and open the client before saying ready
    print("worker ready", flush=True)
    try:
        await run_delivery_worker(deps, stop)
    finally:
        await line.close()
        await client.aclose()


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    tokens = json.loads(sys.stdin.readline() or "{}")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(_main(args, tokens))


if __name__ == "__main__":
    main()
