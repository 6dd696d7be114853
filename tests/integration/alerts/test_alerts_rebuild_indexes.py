"""``civicbot alerts rebuild-indexes``: residents stored by the previous release (JSON document + id sets) reach
police notices again after the migration, only the tenants asked for are touched, and the command refuses to run
without a Redis URL."""

from __future__ import annotations

import argparse
import io
import json

from alerts.cli import add_parsers, rebuild_indexes, run
from alerts.geo import Gazetteer
from alerts.subscriptions import Place, RedisSubscriptionStore, Subscription
from bot.users import RedisUserStore
from tests.helpers import write_legacy_subscriber

UMEDA = (34.7025, 135.4959)


async def test_rebuild_indexes_command_migrates_each_tenant(redis):
    g = Gazetteer.load()
    store = RedisSubscriptionStore(redis, g)
    for tenant in ("a", "b"):
        sub = Subscription(tenant, "U1", places=[Place("p1", "自宅", "27127", *UMEDA)], categories=["crime"])
        async with redis.pipeline(transaction=False) as pipe:
            write_legacy_subscriber(pipe, tenant, sub, g)
            await pipe.execute()
    assert await store.near("a", *UMEDA, 500, ("crime",)) == set()
    out = io.StringIO()
    assert await rebuild_indexes(store, RedisUserStore(redis), ["a"], out=out) == {"a": 1}
    assert json.loads(out.getvalue()) == {"tenant": "a", "subscriptions": 1, "users_migrated": 1}
    assert await store.near("a", *UMEDA, 500, ("crime",)) == {"U1"}
    assert await RedisUserStore(redis).is_active("a", "U1")
    assert await store.near("b", *UMEDA, 500, ("crime",)) == set()  # only the tenants asked for
    assert await store.needs_rebuild("b")


def test_rebuild_indexes_needs_a_redis_url(capsys):
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["alerts", "rebuild-indexes", "--tenant", "a"])
    assert run(args) == 2
    assert "Redis URL" in capsys.readouterr().err
