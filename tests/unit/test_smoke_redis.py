async def test_embedded_redis_supports_streams_and_geo(redis):
    await redis.xadd("s", {"a": "1"})
    assert await redis.xlen("s") == 1
    await redis.geoadd("g", (135.5, 34.7, "x"))
    assert await redis.geopos("g", "x")
