"""The engine's one audience: tagged queries (``@garbage:``, ``@reports:``) go to their owner, the rest to the
subscriptions audience — a reminder never reaches alert subscribers and an alert never reaches reminder groups."""

from __future__ import annotations

from collections.abc import AsyncIterator

from broadcasts.audience import AudienceQuery, AudienceRouter, Recipient, tagged


class Fixed:
    def __init__(self, *ids: str) -> None:
        self.ids = ids
        self.queries: list[AudienceQuery] = []

    async def resolve(self, query: AudienceQuery) -> AsyncIterator[Recipient]:
        self.queries.append(query)
        for uid in self.ids:
            yield Recipient(uid)


async def _ids(router: AudienceRouter, query: AudienceQuery) -> list[str]:
    return [r.user_id async for r in router.resolve(query)]


async def test_a_tagged_query_goes_only_to_its_source_and_the_rest_to_the_default():
    subscriptions, garbage, reports = Fixed("s1", "s2"), Fixed("g1"), Fixed("r1")
    router = AudienceRouter(subscriptions, {"@reports:": reports, "@garbage:": garbage})
    assert await _ids(router, AudienceQuery("demo", categories=("@garbage:grp",))) == ["g1"]
    assert await _ids(router, AudienceQuery("demo", categories=("@reports:R-1",))) == ["r1"]
    assert await _ids(router, AudienceQuery("demo", categories=("weather",))) == ["s1", "s2"]
    assert await _ids(router, AudienceQuery("demo", all_friends=True)) == ["s1", "s2"]
    assert [q.categories for q in subscriptions.queries] == [("weather",), ()]


async def test_without_a_default_an_untagged_query_reaches_nobody():
    router = AudienceRouter(None, {"@garbage:": Fixed("g1")})
    assert await _ids(router, AudienceQuery("demo", categories=("weather",))) == []


def test_tagged_gives_the_ids_after_the_prefix():
    query = AudienceQuery("demo", categories=("@garbage:a", "weather", "@garbage:b"))
    assert tagged(query, "@garbage:") == ["a", "b"]
    assert tagged(query, "@reports:") == []
