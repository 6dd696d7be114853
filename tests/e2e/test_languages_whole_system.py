"""A Vietnamese and an English resident through the real processes (emulator → webhook → inbox → worker → LINE API):
greeting, an FAQ answer and its 👍, subscribing to alerts for a place, and a crisis — every line the bot sends (texts
and button labels) is in the resident's language, taken from their LINE profile on follow.

The one allowed exception is FAQ content (entries are Japanese until translated; the demo has English translations): an
untranslated answer opens with a sentence in the resident's language saying so. The tenant's name (デモ市) is a proper noun.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from bot import i18n
from tests.integration.faq.test_faq_system import _load_demo_faq
from tests.system import System, chat_system

pytestmark = pytest.mark.slow

JAPANESE = re.compile(r"[\u3040-\u30fa\u30fc-\u30ff\u3400-\u9fff\uff66-\uff9f]")
CITY = "デモ市"
QUESTION = {"vi": "Rác cháy được thu gom vào ngày nào?", "en": "What day is burnable garbage collected?"}
CRISIS = {"vi": "Tôi muốn chết, không muốn sống nữa", "en": "I want to kill myself"}


async def _open_consultation(redis_url: str, user: str):
    import redis.asyncio as aioredis

    from handoff import RedisHandoffStore

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return await RedisHandoffStore(client).open_for_user("demo", user)
    finally:
        await client.aclose()


class Resident:
    def __init__(self, system: System, language: str) -> None:
        self.system, self.language = system, language
        self.user = "U" + f"lang{language}".ljust(32, "0")
        self.deliveries: list[dict] = []

    def send(self, **payload: str) -> list[dict]:
        self.system.post("/_emulator/send", {"tenant": "demo", "user_id": self.user, **payload})
        delivery = self.system.wait_messages(self.user, len(self.deliveries) + 1, timeout=60)[len(self.deliveries)]
        self.deliveries.append(delivery)
        return delivery["messages"]

    @staticmethod
    def postbacks(message: dict) -> list[tuple[str, str]]:
        items = (message.get("quickReply") or {}).get("items", [])
        return [(i["action"]["label"], i["action"]["data"]) for i in items if i["action"]["type"] == "postback"]

    def foreign_lines(self) -> list[str]:
        """Every text and button label the bot sent that carries Japanese script (FAQ entries — answers and the questions
        offered as choices — and the city's name aside)."""
        note = i18n.t("faq.only_japanese", self.language)
        out = []
        for delivery in self.deliveries:
            for m in delivery["messages"]:
                body = m.get("text", "")
                if body.startswith(note + "\n"):
                    continue  # the FAQ entry, introduced in the resident's language
                items = (m.get("quickReply") or {}).get("items", [])
                entries = [i for i in items if "action=show" in i["action"].get("data", "")]  # FAQ questions
                items = [i for i in items if i not in entries]
                shown = {"・" + i["action"]["displayText"] for i in entries}
                lines = [x for x in body.splitlines() if x not in shown]
                lines += [i["action"]["label"] for i in items] + [i["action"].get("displayText", "") for i in items]
                out += [line for line in lines if JAPANESE.search(line.replace(CITY, ""))]
        return out


@pytest.fixture(scope="module")
def system(tmp_path_factory, redis_url):
    with chat_system(tmp_path_factory.mktemp("languages"), redis_url, prepare=_load_demo_faq) as s:
        yield s


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_resident_stays_in_their_language_from_greeting_to_crisis(system, redis_url, language):
    def t(key: str, **kw: str) -> str:
        return i18n.t(key, language, **kw)

    r = Resident(system, language)
    # greeting: the LINE profile's language
    (welcome,) = r.send(type="follow", language=language)
    assert welcome["text"] == t("core.welcome", city=CITY)
    assert [label for label, _ in r.postbacks(welcome)] == [t("core.menu.alerts_label")]

    # FAQ: a question in the resident's language (the demo FAQ is Japanese with English translations), then the entry
    # the resident picks (as from a choice button): English gets its translation; Vietnamese the Japanese entry,
    # introduced by a sentence in Vietnamese; 👍/👎 and the thanks in the resident's language
    r.send(text=QUESTION[language])
    *answer, ask = r.send(type="postback", data=f"room=faq&action=show&id=gomi-001&q=walk&lang={language}")
    note = t("faq.only_japanese")
    assert answer[0]["text"].startswith(f"{note}\n\nQ. 燃えるごみは何曜日" if note else "Q. ")
    assert ask["text"] == t("faq.helpful")
    up = next(data for label, data in r.postbacks(ask) if label == t("faq.vote_up"))
    (thanks,) = r.send(type="postback", data=up, display_text=t("faq.vote_up").removeprefix("👍 "))
    assert thanks["text"] == t("faq.thanks_up")

    # subscription: menu → the first municipality → its first ward → "home" → saved
    *_, where = r.send(type="postback", data="room=alerts&action=menu")
    assert where["text"] == t("alerts.text.where")
    reply = where
    for _ in range(2):  # municipality, then ward
        (reply,) = r.send(type="postback", data=r.postbacks(reply)[0][1])
    home = next(data for label, data in r.postbacks(reply) if label == t("alerts.place.自宅"))
    (saved,) = r.send(type="postback", data=home)
    assert saved["text"].startswith(t("alerts.text.saved", name=t("alerts.place.自宅"), label="").split("(")[0])

    # crisis: the crisis layer's reply (hotlines, the offer of a counsellor) in the resident's language; the
    # consultation is queued in that language too (pushes from the console use it)
    first, lines = r.send(text=CRISIS[language])
    assert "0120-279-338" in lines["text"]
    assert any("action=talk" in data for _, data in r.postbacks(lines))
    conversation = asyncio.run(_open_consultation(redis_url, r.user))
    assert conversation is not None and conversation.risk == "crisis" and conversation.language == language

    assert r.foreign_lines() == []
