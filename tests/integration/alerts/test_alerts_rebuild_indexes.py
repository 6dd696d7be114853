"""``civicbot alerts rebuild-indexes``: subscriptions stored before the per-category GEO index reach police
notices again after the migration, and the command refuses to run without a Redis URL."""

from __future__ import annotations

import argparse
import io
import json

from alerts.cli import add_parsers, rebuild_indexes, run
from alerts.geo import Gazetteer
from alerts.subscriptions import Place, RedisSubscriptionStore, Subscription

UMEDA = (34.7025, 135.4959)


async def test_rebuild_indexes_command_migrates_each_tenant(redis, redis_url):
    store = RedisSubscriptionStore(redis, Gazetteer.load())
    for tenant in ("a", "b"):
        await store.save(Subscription(tenant, "U1", places=[Place("p1", "自宅", "27127", *UMEDA)], categories=["crime"]))
        await redis.delete(f"cb:{{{tenant}}}:alerts:geo:crime")  # as stored before the index existed
    assert await store.near("a", *UMEDA, 500, ("crime",)) == set()
    out = io.StringIO()
    assert await rebuild_indexes(redis_url, ["a"], out=out) == {"a": 1}
    assert json.loads(out.getvalue()) == {"tenant": "a", "subscriptions": 1}
    assert await store.near("a", *UMEDA, 500, ("crime",)) == {"U1"}
    assert await store.near("b", *UMEDA, 500, ("crime",)) == set()  # only the tenants asked for


def test_rebuild_indexes_needs_a_redis_url(capsys):
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["alerts", "rebuild-indexes", "--tenant", "a"])
    assert run(args) == 2
    assert "Redis URL" in capsys.readouterr().err
