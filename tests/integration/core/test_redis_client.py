"""The hiredis-packing client behaves like redis-py's own on the commands civicbot uses."""

import pytest
import uvloop
from redis.exceptions import ConnectionError as RedisConnectionError

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


def test_a_write_on_a_transport_closed_under_uvloop_is_a_retryable_connection_error(redis_url):
    """Mid-failover, redis-py's cluster client closes every connection of a node while other tasks still hold some;
    under uvloop the next write raised RuntimeError("the handler is closed"), which no retry caught, and the chat
    worker died. The connection turns it into the ConnectionError redis-py's cluster client retries."""

    async def write_on_closed() -> None:
        client = connect(redis_url)
        conn = client.connection_pool.make_connection()
        try:
            await conn.connect()
            conn._writer.transport.close()  # what another task's disconnect does to a connection still in use
            with pytest.raises(RedisConnectionError, match="closed"):
                await conn.send_command("PING")
            await conn.disconnect()
            await conn.send_command("PING")  # and the connection reconnects on its next use
            assert await conn.read_response() == "PONG"
        finally:
            await conn.disconnect()
            await client.aclose()

    uvloop.run(write_on_closed())


@pytest.mark.cluster
async def test_cluster_nodes_use_the_same_connection_class(cluster_url):
    client = connect(cluster_url)
    try:
        await client.set("cb:{demo}:conn-class", "1")
        assert {type(c) for node in client.get_nodes() for c in node._connections} == {HiredisPackingConnection}
        assert {node.connection_class for node in client.get_nodes()} == {HiredisPackingConnection}
    finally:
        await client.delete("cb:{demo}:conn-class")
        await client.aclose()
