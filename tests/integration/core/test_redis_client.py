"""The hiredis-packing client behaves like redis-py's own on the commands civicbot uses."""

from bot.redis_client import HiredisPackingConnection, connect


async def test_packed_commands_round_trip(redis_url):
    client = connect(redis_url)
    try:
        assert client.connection_pool.connection_class is HiredisPackingConnection
        await client.set("k:日本語", "値 with spaces", ex=60)
        assert await client.get("k:日本語") == "値 with spaces"
        await client.hset("h", mapping={"a": 1, "b": 2.5, "c": b"bytes"})
        assert await client.hgetall("h") == {"a": "1", "b": "2.5", "c": "bytes"}
        await client.xadd("s", {"e": '{"x": 1}'})
        assert (await client.xrange("s"))[0][1] == {"e": '{"x": 1}'}
        await client.geoadd("g", (135.5, 34.7, "m"))
        assert await client.geosearch("g", longitude=135.5, latitude=34.7, radius=1, unit="km") == ["m"]
        assert await client.client_setname("civicbot-test")
        sha = await client.script_load("return ARGV[1]")
        assert await client.evalsha(sha, 0, "ok") == "ok"
        async with client.pipeline(transaction=True) as pipe:
            pipe.incr("n").incr("n")
            assert await pipe.execute() == [1, 2]
    finally:
        await client.flushdb()
        await client.aclose()
