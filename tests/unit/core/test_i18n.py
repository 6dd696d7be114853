"""The one message catalogue (bot/locales) and the one fallback rule (bot.i18n)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml

from bot import i18n
from bot.inbox import MemoryInbox
from bot.leases import MemoryLeases
from bot.line import RecordingLineGateway
from bot.router import Dispatcher, Rooms, default_middlewares
from bot.users import MemoryUserStore
from bot.worker import Responder, WorkerDeps, handle_entry
from tests.helpers import follow_event, tenant, text_event

REPO = Path(__file__).resolve().parents[3]
DEMO_LANGUAGES = yaml.safe_load((REPO / "config" / "tenants.demo.yaml").read_text(encoding="utf-8"))["tenants"][0]["languages"]
CATALOGUE = i18n.catalogue()


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_demo_tenant_offers_six_languages():
    assert set(DEMO_LANGUAGES) == {"ja", "ja-easy", "en", "zh-Hans", "ko", "vi"}


@pytest.mark.parametrize("language", DEMO_LANGUAGES)
def test_every_text_exists_in_every_language_the_demo_tenant_offers(language):
    # ja-easy is an overlay on ja (documented in bot/i18n.py): a key it does not reword reads as plain Japanese
    assert CATALOGUE.missing(language) == set()
    assert CATALOGUE.keys >= {"core.welcome", "handoff.taken", "faq.helpful", "alerts.text.menu", "handoff.closing"}


@pytest.mark.parametrize("language", [lang for lang in DEMO_LANGUAGES if lang != "ja"])
def test_translations_use_the_same_fields_as_japanese(language):
    wrong = {
        key: (_fields(CATALOGUE.texts["ja"][key]), _fields(text))
        for key, text in CATALOGUE.texts[language].items()
        if _fields(text) != _fields(CATALOGUE.texts["ja"][key])
    }
    assert wrong == {}


def test_quick_reply_labels_fit_line():
    too_long = {
        (lang, key): text
        for lang, texts in CATALOGUE.texts.items()
        for key, text in texts.items()
        if (key.endswith("_label") or key.startswith("alerts.label.")) and len(text) > 20
    }
    assert too_long == {}


def test_fallback_rule_follows_what_the_tenant_offers():
    assert i18n.chain("vi", ["ja", "ja-easy", "en", "zh-Hans", "ko", "vi"]) == ("vi", "en", "ja")
    assert i18n.chain("vi", ["ja", "en"]) == ("en", "ja")
    assert i18n.chain("vi", ["ja"]) == ("ja",)
    assert i18n.chain("ja-easy", ["ja", "ja-easy"]) == ("ja-easy", "ja")
    assert i18n.chain("ja-easy", ["ja", "en"]) == ("ja", "en")
    assert i18n.chain("tl") == ("tl", "en", "ja")  # no tenant: the crisis layer's wider set of languages
    assert i18n.t("core.greeting", "vi", ["ja", "en"], city="X") == "Hello! This is X. How can I help?"
    assert i18n.t("core.greeting", "vi", None, city="X") == "Xin chào! Đây là X. Tôi có thể giúp gì cho bạn?"
    assert i18n.t("alerts.text.which_city", "ja-easy") == "市町村を選んでください。"  # overlay → ja


def test_line_profile_languages_map_to_product_languages():
    assert [i18n.from_line(x) for x in ("vi", "en", "zh-Hans", "zh-TW", "ko", "pt-BR", "ja", "", None)] == [
        "vi", "en", "zh-Hans", "zh-Hans", "ko", "pt", "ja", None, None,
    ]


class _ProfileLine(RecordingLineGateway):
    def __init__(self, language: str | None, fail: bool = False) -> None:
        super().__init__()
        self.language, self.broken = language, fail

    async def profile(self, tenant: str, user_id: str) -> dict:
        if self.broken:
            raise RuntimeError("profile unavailable")
        return {"displayName": "x", "language": self.language}


async def _run(line, events, users=None):
    users = users or MemoryUserStore()
    t = tenant(languages=["ja", "ja-easy", "en", "zh-Hans", "ko", "vi"])
    d = WorkerDeps({"demo": t}, MemoryInbox(4), MemoryLeases(), Dispatcher(users, Rooms(), default_middlewares(line.profile)), line, 0.05)
    for event in events:
        await d.inbox.enqueue("demo", [event])
        for shard in range(4):
            for entry in await d.inbox.read(shard, block_ms=1):
                await handle_entry(d, Responder(d.line), entry)
                await d.inbox.ack(entry)
    return users, [m["text"] for call in line.sent("reply") for m in call["messages"]]


async def test_a_vietnamese_follower_is_welcomed_and_answered_in_vietnamese():
    users, texts = await _run(_ProfileLine("vi"), [follow_event("U1"), text_event("U1", text="abc")])
    assert texts[0].startswith("Đây là tài khoản LINE chính thức của デモ市")
    assert texts[1] == i18n.t("core.not_yet", "vi")
    assert (await users.get("demo", "U1")).language == "vi"


async def test_a_failing_profile_call_still_welcomes_in_the_stored_language():
    _, texts = await _run(_ProfileLine(None, fail=True), [follow_event("U2")])
    assert "友だち追加ありがとうございます" in texts[0]
