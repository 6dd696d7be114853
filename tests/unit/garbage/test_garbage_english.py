"""Questions in English: the items' English names (``name_en``), the generic glossary for a list without them,
and the room answering in English (names and category names from the catalogue) to a resident set to Japanese."""

from __future__ import annotations

import pytest

from bot.english import stem_plural
from bot.router import Dispatcher, Rooms
from bot.users import MemoryUserStore
from garbage import GarbageDeps, GarbageRoom, ItemIndex, MemoryDatasetStore, MemoryReminderStore, MemoryUnknownLog
from garbage.english import is_english, load_glossary, to_japanese, words
from garbage.model import Category, Dataset, Item
from nlu.crisis_layer import CrisisLayer
from nlu.crisis_reply import CrisisReplies
from nlu.normalize import default_analyzer
from nlu.risk import default_risk_assessor
from nlu.risk_context import MemoryRiskContext

from .test_garbage_chat import said, tapped

CATS = [Category("燃やさないごみ", url="https://city.example/funen"), Category("缶・びん・ペットボトル"), Category("粗大ごみ")]


def town(english: bool) -> Dataset:
    """A small list of another town (not the demo data), with or without English names."""
    rows = [
        ("燃やさないごみ", "フライパン", "frying pan|skillet"),
        ("燃やさないごみ", "やかん", "kettle"),
        ("燃やさないごみ", "傘", "umbrella"),
        ("燃やさないごみ", "ビニール傘", "plastic umbrella|vinyl umbrella"),
        ("缶・びん・ペットボトル", "びん", "glass bottle|bottle|jar"),
        ("缶・びん・ペットボトル", "ワインのびん", "wine bottle"),
        ("粗大ごみ", "ソファ（1人用）", "sofa (one seat)|armchair"),
        ("粗大ごみ", "ソファ（2人用以上）", "sofa (two or more seats)"),
    ]
    return Dataset(categories=CATS, items=[Item(c, n, name_en=e if english else "") for c, n, e in rows])


@pytest.fixture(scope="module")
def named() -> ItemIndex:
    return ItemIndex(town(english=True), default_analyzer())


@pytest.fixture(scope="module")
def unnamed() -> ItemIndex:
    return ItemIndex(town(english=False), default_analyzer())


def test_which_text_goes_the_english_way():
    assert is_english("Where does a skillet go?") and is_english("ＤＶＤ")
    assert not is_english("CDは何ごみ？") and not is_english("LED電球") and not is_english("電池")
    plurals = ("batteries", "boxes", "cans", "glass", "bus", "knives", "shelves", "shoes", "potatoes")
    assert [stem_plural(w) for w in plurals] == ["battery", "box", "can", "glass", "bus", "knife", "shelf", "shoe", "potato"]
    assert words("Can I put cans here? How can we sort the can") == ["can", "can"]  # the verb is not the container
    assert words("How do I throw away my old skillet?") == ["skillet"]  # frame and state words say no item


@pytest.mark.parametrize("question,name", [
    ("Where does a skillet go?", "フライパン"),
    ("how to dispose of a kettle", "やかん"),
    ("which bin for empty wine bottles", "ワインのびん"),  # the longer name beats 'bottle' alone
    ("my plastic umbrella broke", "ビニール傘"),
    ("umbrella", "傘"),
])
def test_english_names(named, question, name):
    r = named.search(question)
    assert r.language == "en" and r.best is not None and r.best.item is not None
    assert r.best.item.name == name


def test_a_word_that_is_not_the_head_of_a_name_finds_nothing(named):
    assert named.search("plastic").candidates == ()  # 'plastic umbrella' needs the umbrella
    assert named.search("how do I renew my passport").candidates == ()


def test_an_ambiguous_english_name_offers_both(named):
    r = named.search("throw away a sofa")
    assert not r.confident and {c.item.name for c in r.candidates[:2]} == {"ソファ（1人用）", "ソファ（2人用以上）"}
    assert named.search("an armchair").best.item.name == "ソファ（1人用）"


def test_glossary_route_for_a_list_without_english_names(unnamed):
    gl = load_glossary()
    assert to_japanese("old frying pan and a kettle", gl) == (["フライパン", "やかん"], 1.0)
    assert to_japanese("bicycle parking", gl) == (["自転車"], 0.5)
    r = unnamed.search("How can I dispose of a skillet?")
    assert r.language == "en" and r.best.item.name == "フライパン"
    assert unnamed.search("where do wine bottles go").best.item.name == "ワインのびん"
    assert unnamed.search("skillet").best.score == 1.0 > unnamed.search("skillet handle").best.score  # handle: unknown
    assert ItemIndex(town(english=False), default_analyzer(), glossary=()).search("a skillet").candidates == ()


@pytest.fixture
async def room():
    datasets = MemoryDatasetStore()
    await datasets.put("demo", town(english=True))
    return GarbageRoom(GarbageDeps(datasets, MemoryUnknownLog(), MemoryReminderStore(), default_analyzer()))


async def test_room_answers_an_english_question_in_english(room):
    out = await room.on_text(said("How do I throw away a skillet?", lang="ja"))
    body = out[0]["text"]
    assert body.startswith('"frying pan (フライパン)" goes in: non-burnable garbage.') and "https://city.example/funen" in body
    assert (await room.on_text(said("フライパンは何ごみ？", lang="ja")))[0]["text"].startswith("「フライパン」は【燃やさないごみ】")


async def test_english_choices_are_english_and_the_pick_answers_in_english(room):
    out = await room.on_text(said("throw away a sofa", lang="ja"))
    actions = [i["action"] for i in out[0]["quickReply"]["items"]]
    assert [a["displayText"] for a in actions] == ["sofa (one seat)", "sofa (two or more seats)"]
    tap = tapped(actions[1]["data"], lang="ja")
    picked = await room.on_postback(tap, tap.postback)
    assert picked[0]["text"].startswith('"sofa (two or more seats) (ソファ（2人用以上）)" goes in: oversized garbage')


@pytest.fixture
async def demo_room(demo_ds):
    datasets = MemoryDatasetStore()
    await datasets.put("demo", demo_ds)
    return GarbageRoom(GarbageDeps(datasets, MemoryUnknownLog(), MemoryReminderStore(), default_analyzer()))


async def test_an_english_message_that_only_mentions_an_item_is_left_to_the_faq(demo_room):
    assert await demo_room.on_text(said("bicycle parking", lang="en")) is None
    assert (await demo_room.on_text(said("bicycle", lang="en")))[0]["text"].startswith('"bicycle (自転車)" goes in:')


async def test_crisis_layer_runs_before_an_english_garbage_question(demo_room):
    dispatcher = Dispatcher(MemoryUserStore(), Rooms(crisis=CrisisLayer(default_risk_assessor(), MemoryRiskContext(), CrisisReplies())))
    dispatcher.include(demo_room)
    crisis = await dispatcher.process(said("I want to hang myself with a rope", lang="ja"))
    body = " ".join(str(m.get("text", m.get("altText", ""))) for m in crisis)
    assert "goes in" not in body and "【" not in body and any(ch.isdigit() for ch in body)  # hotlines, no garbage answer
    garbage = await dispatcher.process(said("how should I throw out a kitchen knife", lang="ja"))
    assert garbage[0]["text"].startswith('"kitchen knife (包丁)" goes in: non-burnable garbage.')


def test_latin_common_names_of_the_lexicon_work_in_english_too(index):
    r = index.search("where do I take an old PS5")
    assert r.language == "en" and r.best.item.name == "ゲーム機"
    assert index.search("VHS tapes").best.item.name == "ビデオテープ"


def test_head_words_and_content_words_on_the_demo_list(index):
    r = index.search("what about old kitchen knives")
    assert r.best.item.name == "包丁" and "生ごみ" not in [c.item.name for c in r.candidates]  # not 'kitchen waste'
    assert index.search("which bin?").candidates == ()  # 'bin' alone is no item ('large bin')
    assert index.search("Can I put empty cans out on Monday").best.item.name == "空き缶"  # 'Can I' is the verb
    assert index.search("used cooking oil").best.key == "cooking oil"
