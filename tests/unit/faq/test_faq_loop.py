"""The improvement loop and other languages in the chat: what enters the unanswered list, what an editor's
alternative question does to the ranking, and which language the resident's answer comes in."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.chat import Incoming, parse_postback
from bot.config import Tenant
from faq.chat import ConfidencePolicy, FaqDeps, FaqRoom, answer, localized, on_postback
from faq.demo import sample_entries
from faq.index import LiveIndex
from faq.models import FaqEntry, Translation, query_hash
from faq.store import MemoryFaqStore
from faq.text import Analyzer
from faq.unanswered import MemoryUnansweredStore, UnansweredQuestion, clusters

UNKNOWN = "ハクビシンが屋根裏に住み着いて困っています"


class Parse:
    def __init__(self, intent: str | None) -> None:
        self.intent = intent


def incoming(text: str = "", user_id: str = "U1", language: str = "ja") -> Incoming:
    tenant = Tenant(id="demo", display_name="デモ市", lg_code="271004")
    return Incoming(tenant=tenant, user_id=user_id, kind="text", webhook_event_id="e1", timestamp_ms=0, text=text,
                    language=language)


@pytest.fixture
async def deps():
    store = MemoryFaqStore()
    await store.put_many("demo", sample_entries("demo").entries, who="test")
    return FaqDeps(index=LiveIndex(store), store=store, unanswered=MemoryUnansweredStore(),
                   flagged=lambda text: "死にたい" in text, topic_labels={"faq_gomi": "ごみ"})


async def listed(deps: FaqDeps) -> list[str]:
    return [q.text for q in await deps.unanswered.list("demo")]


async def test_a_question_without_answer_enters_the_list_once_with_a_count(deps):
    room = FaqRoom(deps)
    await room.on_text(incoming(UNKNOWN), Parse("nlu_fallback"))
    await answer(incoming(UNKNOWN), UNKNOWN, None, deps)
    (item,) = await deps.unanswered.list("demo")
    assert (item.text, item.count, item.lang) == (UNKNOWN, 2, "ja")
    assert item.reason in ("nothing", "choices")  # no answer, at most もしかして


async def test_picking_a_choice_takes_the_question_off_the_list(deps):
    deps.policy = ConfidencePolicy(answer_min=1.01)  # never confident: もしかして
    messages = await answer(incoming(), "粗大ごみの出し方", None, deps)
    assert [q.reason for q in await deps.unanswered.list("demo")] == ["choices"]
    show = next(parse_postback(i["action"]["data"]) for i in messages[-1]["quickReply"]["items"]
                if i["action"]["type"] == "postback")
    await on_postback(incoming(), show, deps)
    assert await listed(deps) == []


async def test_flagged_pii_and_answered_messages_stay_out(deps):
    room = FaqRoom(deps)
    assert await room.on_text(incoming("死にたい。ごみの出し方もわからない"), Parse("faq_gomi")) is None
    await room.on_text(incoming("090-1234-5678 に電話ください。ハクビシンがいます"), Parse("nlu_fallback"))
    await room.on_text(incoming("山田太郎と申します。ハクビシンがいます"), Parse("nlu_fallback"))
    replied = await room.on_text(incoming("燃えるゴミは何曜日に出せばいい？"), Parse("faq_gomi"))
    assert replied and "8時30分" in replied[0]["text"]
    assert await listed(deps) == []


async def test_a_thumbs_down_puts_the_answered_question_in_the_list(deps):
    question = "燃えるゴミは何曜日に出せばいい？"
    messages = await FaqRoom(deps).on_text(incoming(question), Parse("faq_gomi"))
    down = next(parse_postback(i["action"]["data"]) for i in messages[-1]["quickReply"]["items"]
                if "👎" in i["action"]["label"])
    assert down["q"] == query_hash(question)
    await on_postback(incoming(), down, deps)
    (item,) = await deps.unanswered.list("demo")
    assert (item.text, item.reason) == (question, "down")


async def test_an_editors_alternative_question_is_indexed_at_once_and_wins(deps):
    before = await deps.index.search("demo", UNKNOWN, 3)
    assert "sumai-003" not in [h.id for h in before]
    entry = await deps.store.get("demo", "sumai-003")  # 空き家の管理 (the editor decides it fits)
    entry.alternatives = [UNKNOWN]
    await deps.store.put(entry, who="editor")
    messages = await answer(incoming(UNKNOWN), UNKNOWN, None, deps)
    assert "空き家相談窓口" in messages[0]["text"] and messages[-1]["text"] == "役に立ちましたか？"
    # a similar wording reaches the entry too, not only the exact text
    assert (await deps.index.search("demo", "屋根裏にハクビシンが住み着いた", 3))[0].id == "sumai-003"


def test_similar_questions_are_grouped_with_counts_and_first_last_seen():
    def q(text: str, count: int, first: float, last: float, lang: str = "ja") -> UnansweredQuestion:
        return UnansweredQuestion(query_hash(text), text, lang, "nothing", first, last, count)

    groups = clusters([
        q("ハクビシンが屋根裏にいます", 3, 10, 50), q("屋根裏のハクビシンを追い出したい", 1, 20, 20),
        q("ハクビシンの駆除はしてもらえますか", 2, 5, 60), q("図書館でコピーはできますか", 1, 30, 30),
        q("Can I make copies at the library?", 1, 40, 40, "en"),
    ], Analyzer(), threshold=0.3)
    first = groups[0]
    assert {m.text for m in first.members} >= {"ハクビシンが屋根裏にいます", "屋根裏のハクビシンを追い出したい"}
    assert first.label.text == "ハクビシンが屋根裏にいます"  # the most asked wording
    assert first.count == sum(m.count for m in first.members)
    assert (first.first, first.last) == (min(m.first for m in first.members), max(m.last for m in first.members))
    library = next(g for g in groups if "図書館でコピーはできますか" in {m.text for m in g.members})
    assert library is not first and "ハクビシン" not in "".join(m.text for m in library.members)


async def test_english_question_gets_the_english_answer(deps):
    messages = await answer(incoming("How do I throw away a sofa?"), "How do I throw away a sofa?", None, deps)
    body = "\n".join(m["text"] for m in messages)
    assert "Bulky garbage must be booked in advance" in body and "06-0000-5300" in body
    assert messages[-1]["text"] == "Was this helpful?"
    assert "役に立ちましたか" not in body


async def test_without_translation_easy_japanese_then_japanese_with_a_note(deps):
    entry = FaqEntry("demo", "x", "質問です", "日本語の回答です。",
                     translations={"ja-easy": Translation("しつもん", "やさしい こたえ です。")})
    assert localized(entry, "en") == ("しつもん", "やさしい こたえ です。",
                                      "This answer is only available in simple Japanese for now.")
    assert localized(entry, "ja-easy") == ("しつもん", "やさしい こたえ です。", "")
    assert localized(entry, "ja") == ("質問です", "日本語の回答です。", "")
    plain = FaqEntry("demo", "y", "質問です", "日本語の回答です。")
    assert localized(plain, "vi") == ("質問です", "日本語の回答です。", "Hiện câu trả lời này chỉ có bằng tiếng Nhật.")


async def test_english_question_for_an_untranslated_faq_goes_through_the_glossary_and_says_so(deps):
    entries = await deps.store.all("demo")
    for entry in entries:
        entry.translations = {}
    await deps.store.put_many("demo", entries, who="editor")
    messages = await answer(incoming(), "How do I throw away a sofa?", None, deps)
    assert messages[0]["text"].startswith("This answer is only available in Japanese for now.")
    assert "粗大ごみ受付センター" in messages[0]["text"]


async def test_an_unanswerable_english_question_is_kept_with_its_language(deps):
    await FaqRoom(deps).on_text(incoming("Can I keep chickens in my garden?"), Parse("nlu_fallback"))
    (item,) = await deps.unanswered.list("demo")
    assert (item.text, item.lang) == ("Can I keep chickens in my garden?", "en")


def test_calibration_halves_of_dev_do_not_overlap():
    """The confidence model is fitted on dev half A and checked on half B: the halves must be disjoint."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_faq", Path(__file__).resolve().parents[3] / "bench"
                                                  / "faq_localgovfaq.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    qrels = {str(i): {"1": 2} for i in range(1, 50)}
    half_a, half_b = bench.halves(qrels)
    assert half_a.isdisjoint(half_b) and half_a | half_b == set(qrels) and abs(len(half_a) - len(half_b)) <= 1


async def test_the_question_text_never_reaches_the_logs(deps, caplog):
    class Broken(MemoryUnansweredStore):
        async def record(self, *args, **kwargs) -> None:
            raise ConnectionError("redis down: " + str(args))

    deps.unanswered = Broken()
    caplog.set_level("DEBUG")
    replied = await answer(incoming(UNKNOWN), UNKNOWN, None, deps)
    assert replied[0]["text"]  # a failing list never stops the reply
    assert "unanswered question not kept" in caplog.text
    assert UNKNOWN not in caplog.text and "ハクビシン" not in caplog.text


async def test_consultation_messages_are_neither_answered_nor_kept(deps):
    """Consultation intents belong to the handoff room (it runs before the FAQ); the FAQ never takes or keeps them."""
    for intent in ("consult_mental", "consult_dv", "handoff_request"):
        assert await FaqRoom(deps).on_text(incoming(UNKNOWN), Parse(intent)) is None
    assert await listed(deps) == []


def test_the_roots_crisis_flag_is_the_crisis_layers_verdict():
    from app.bootstrap import crisis_flags
    from nlu.crisis_layer import CrisisLayer
    from nlu.risk import default_risk_assessor

    flagged = crisis_flags(CrisisLayer(default_risk_assessor(), context=None, replies=None))
    assert flagged("死にたい。ごみの出し方もわからない")
    assert not flagged("粗大ごみの出し方を教えて")
    assert not crisis_flags(None)("死にたい")  # no crisis layer (web process): nothing is flagged here
