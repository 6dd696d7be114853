"""The bot's own buttons send the resident's language, and the router understands what they send in every language
(the NLU knows Japanese only: before, a Chinese resident's 「人と話す」 button sent "talk to a person", which the
router took for an FAQ question)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot import i18n
from bot.chat import Incoming
from bot.messages import BUTTON_INTENTS, button_intent, main_menu
from bot.router import Dispatcher, Rooms
from bot.users import MemoryUserStore, User
from handoff import HandoffDeps, HandoffRoom, MemoryHandoffBus, MemoryHandoffStore, RecordingLinePort
from tests.helpers import tenant

REPO = Path(__file__).resolve().parents[3]
DEMO_LANGUAGES = yaml.safe_load((REPO / "config" / "tenants.demo.yaml").read_text(encoding="utf-8"))["tenants"][0]["languages"]
DEMO = tenant(languages=DEMO_LANGUAGES)
SCRIPT = {  # a text in this language carries at least one letter of its script
    "zh-Hans": re.compile(r"[\u4e00-\u9fff]"),
    "ko": re.compile(r"[\uac00-\ud7a3]"),
    "vi": re.compile(r"[ăâđêôơưàáảãạèéẻẽẹìíỉĩịòóỏõọùúủũụỳýỷỹỵ]", re.IGNORECASE),
}


def sent_texts(language: str) -> list[str]:
    """What the main menu's message buttons send for a resident speaking ``language``."""
    return [item["action"]["text"] for item in main_menu(language, DEMO.languages) if item["action"]["type"] == "message"]


@pytest.mark.parametrize("language", sorted(SCRIPT))
def test_the_main_menu_buttons_send_the_residents_language(language):
    texts = sent_texts(language)
    assert len(texts) == 3
    english = set(sent_texts("en"))
    for sent in texts:
        assert sent not in english and SCRIPT[language].search(sent), sent
    for key in BUTTON_INTENTS:  # the FAQ's and the handoff room's buttons too
        value = i18n.t(key, language, DEMO.languages)
        assert value != i18n.t(key, "en") and value != i18n.t(key, "ja"), key


@pytest.mark.parametrize("language", DEMO_LANGUAGES)
@pytest.mark.parametrize("key", sorted(BUTTON_INTENTS))
def test_every_button_text_of_every_language_has_its_intent(language, key):
    assert button_intent(i18n.t(key, language, DEMO.languages)) == BUTTON_INTENTS[key]


def test_typed_variants_count_and_other_texts_do_not():
    assert button_intent("  Talk to a person! ") == "talk_to_human"
    assert button_intent("「人と話したい」") == "talk_to_human"
    assert button_intent("我想和工作人员交谈。") == "talk_to_human"
    assert button_intent("I want to talk to a person about my taxes") is None
    assert button_intent("粗大ごみの出し方") is None and button_intent("") is None


class RecordingNlu:
    """A Japanese-only NLU stand-in: unsure about everything, and it remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def parse(self, text: str):
        self.asked.append(text)

        class Unsure:
            intent = "nlu_fallback"

        return Unsure()


@pytest.fixture
def world():
    users = MemoryUserStore()
    store = MemoryHandoffStore()
    nlu = RecordingNlu()
    deps = HandoffDeps(store=store, bus=MemoryHandoffBus(), line=RecordingLinePort())
    dispatcher = Dispatcher(users, Rooms(nlu=nlu, handoff=HandoffRoom(deps)))
    return users, store, nlu, dispatcher


async def tap(world, language: str, sent: str, user: str) -> list[dict]:
    users, _, _, dispatcher = world
    await users.save(User(tenant="demo", user_id=user, language=language))
    return await dispatcher.process(Incoming(tenant=DEMO, user_id=user, kind="text", webhook_event_id="e1",
                                             timestamp_ms=0, text=sent))


@pytest.mark.parametrize("language", DEMO_LANGUAGES)
async def test_the_router_understands_the_menu_buttons_in_the_residents_language(world, language):
    _, store, nlu, _ = world
    faq, consult, person = sent_texts(language)
    (helped,) = await tap(world, language, faq, "U-faq")
    assert helped["text"] == i18n.t("core.help", language, DEMO.languages, city=DEMO.display_name)
    for n, sent in enumerate((consult, person)):
        user = f"U-{n}"
        reply = await tap(world, language, sent, user)
        conversation = await store.open_for_user("demo", user)
        assert conversation is not None and conversation.language == language  # queued for a counsellor
        assert reply and reply[0]["text"] != i18n.t("core.not_yet", language, DEMO.languages)
    assert nlu.asked == []  # certain: the NLU was not asked to guess


async def test_other_texts_still_go_to_the_nlu(world):
    _, store, nlu, _ = world
    await tap(world, "zh-Hans", "我想扔掉旧沙发", "U-sofa")
    assert nlu.asked == ["我想扔掉旧沙发"] and await store.open_for_user("demo", "U-sofa") is None
