"""The router gives the reports room first pick while a report is being written (and only then): a location is the
report's place, not an alert place; a comment is not an FAQ question. The menu entry is a postback any menu can use."""

from __future__ import annotations

from bot.chat import Incoming
from bot.router import Dispatcher, Rooms
from bot.users import MemoryUserStore
from reports.chat import ReportsRoom
from reports.testing import demo_tenant, make_deps, photo_with_exif


class Recorder:
    """Another room that claims every text and location it sees."""

    name = "other"

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def on_text(self, incoming, parse):
        self.seen.append(f"text:{incoming.text}")
        return [{"type": "text", "text": "faq answer"}]

    async def on_location(self, incoming):
        self.seen.append("location")
        return [{"type": "text", "text": "alert place saved"}]

    async def on_postback(self, incoming, data):
        return None

    async def on_unfollow(self, tenant_id, user_id):
        return None


def incoming(kind: str, n: int, **kw) -> Incoming:
    return Incoming(tenant=demo_tenant(), user_id="U1", kind=kind, webhook_event_id=f"e{n}", timestamp_ms=0, **kw)


async def test_reports_room_sees_events_first_only_while_a_draft_is_open():
    deps, _, content = make_deps()
    content.items["m1"] = photo_with_exif()
    room = ReportsRoom(deps)
    other = Recorder()
    dispatcher = Dispatcher(MemoryUserStore(), Rooms())
    dispatcher.include(other)
    dispatcher.include_session(room)

    async def run(kind: str, n: int, **kw) -> str:
        return (await dispatcher.process(incoming(kind, n, **kw)))[0]["text"]

    assert "alert place saved" == await run("location", 1, location=(34.69, 135.50))  # no draft: alerts' turn
    assert "どのような内容" in await run("postback", 2, postback={"room": "reports", "action": "start"})
    assert "写真" in await run("postback", 3, postback={"room": "reports", "action": "cat", "c": "pothole"})
    assert "1/3" in await run("image", 4, message_id="m1")
    assert "補足" in await run("location", 5, location=(34.69, 135.50))
    assert "この内容で" in await run("text", 6, text="歩道の端です")
    assert other.seen == ["location"]
    assert "受付番号" in await run("postback", 7, postback={"room": "reports", "action": "send"})
    assert "faq answer" == await run("text", 8, text="粗大ごみの出し方")  # draft gone: back to the other rooms


async def test_unfollow_drops_the_draft_and_its_photos():
    deps, _, content = make_deps()
    content.items["m1"] = photo_with_exif()
    room = ReportsRoom(deps)
    dispatcher = Dispatcher(MemoryUserStore(), Rooms())
    dispatcher.include_session(room)
    await dispatcher.process(incoming("postback", 1, postback={"room": "reports", "action": "start"}))
    await dispatcher.process(incoming("postback", 2, postback={"room": "reports", "action": "cat", "c": "pothole"}))
    await dispatcher.process(incoming("image", 3, message_id="m1"))
    assert len(deps.photos.items) == 1
    await dispatcher.process(incoming("unfollow", 4))
    assert await deps.drafts.get("demo", "U1") is None and deps.photos.items == {}
