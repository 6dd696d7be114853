"""The crisis layer: held-out recall, false alarms on everyday (figurative) messages, normalization, replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.crisis import CATEGORIES, CrisisAssessment, assess, hotline_messages, hotlines_for

HELD_OUT = Path(__file__).resolve().parents[3] / "nlu" / "tests"
CRISIS_SETS = ("crisis_messages.tsv", "crisis_messages_fresh.tsv", "crisis_messages_round3.tsv")
ORDINARY_SETS = ("ordinary_messages.txt", "ordinary_messages_fresh.txt", "ordinary_messages_round3.txt")


def _crisis_set() -> list[tuple[str, str]]:
    rows = [line.split("\t") for name in CRISIS_SETS
            for line in (HELD_OUT / name).read_text("utf-8").splitlines() if line.strip()]
    return [(cat, text) for cat, text in rows]


def _ordinary_set() -> list[str]:
    return [line.strip() for name in ORDINARY_SETS
            for line in (HELD_OUT / name).read_text("utf-8").splitlines() if line.strip()]


def test_held_out_crisis_messages_are_all_caught_with_the_right_category():
    missed = [(cat, text, assess(text)) for cat, text in _crisis_set()
              if (a := assess(text)) is None or a.category != cat]
    assert missed == []
    assert {cat for cat, _ in _crisis_set()} == set(CATEGORIES)  # every category is exercised


def test_false_alarms_on_ordinary_messages_stay_under_two_percent():
    messages = _ordinary_set()
    alarms = [m for m in messages if assess(m) is not None]
    assert len(alarms) / len(messages) <= 0.02, alarms


@pytest.mark.parametrize("text", ["死ぬほど笑った", "課題が多すぎて死ぬ", "暑すぎて死にそう", "死ぬ気で頑張る",
                                  "恥ずかしくて消えたい", "虫に刺された", "DVDを借りたい", "自殺予防週間のポスター"])
def test_figurative_and_topical_uses_are_not_crises(text):
    assert assess(text) is None


def test_a_real_wish_is_caught_even_next_to_a_figurative_phrase():
    assert assess("死ぬほどつらい、もう死にたい").category == "suicide"


@pytest.mark.parametrize("text", ["死にたい", "しにたい", "シニタイ", "ｼﾆﾀｲ", "死 に た い", "死にたい😢😢", "しにたーい",
                                  "しにたぃ", "死にてえ", "死にたいねん"])
def test_spelling_width_spacing_and_emoji_variants_meet(text):
    assert assess(text) == CrisisAssessment("suicide", "high", "suicide.wish")


@pytest.mark.parametrize(("text", "category"), [
    ("今から飛び降りる", "suicide"), ("殴られて血が出てる", "danger"), ("殺される", "danger"), ("息をしていない", "danger"),
])
def test_immediate_danger_is_immediate(text, category):
    result = assess(text)
    assert (result.category, result.severity) == (category, "immediate")


def test_assessment_carries_no_message_text():
    result = assess("夫に毎日殴られています")
    assert result.category == "dv"
    assert "殴" not in repr(result) and "夫" not in repr(result)


def test_empty_and_ordinary_text_is_none():
    assert assess("") is None
    assert assess("   ") is None
    assert assess("粗大ゴミを出したいんだけど") is None


def _all_text(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages)


@pytest.mark.parametrize(("category", "numbers"), [
    ("suicide", ["0120-279-338", "0570-783-556", "0570-064-556"]),
    ("dv", ["#8008", "0120-279-889"]),
    ("child_abuse", ["189", "0120-99-7777"]),
    ("sexual_violence", ["#8891"]),
    ("danger", ["110", "119"]),
])
def test_hotline_messages_name_the_lines_for_the_category_with_hours(category, numbers):
    messages = hotline_messages(category, "high", [], "ja")
    text = _all_text(messages)
    for number in numbers:
        assert number in text
    assert "24時間" in text
    assert 1 <= len(messages) <= 5 and all(m["type"] == "text" for m in messages)
    assert messages[-1]["quickReply"]["items"][0]["action"]["text"] == "人と話したい"


def test_immediate_danger_says_call_110_or_119_first():
    first = hotline_messages("suicide", "immediate", [], "ja")[0]["text"]
    assert first.index("110") < first.index("ありがとう")
    assert "119" in first
    assert "110" not in hotline_messages("suicide", "high", [], "ja")[0]["text"]


def test_tenant_hotlines_come_first_and_replace_a_default_with_the_same_name():
    tenant = [{"category": "dv", "name": "DV相談ナビ", "number": "06-0000-0000", "hours": "平日9時〜17時"},
              {"category": "all", "name": "市の相談窓口", "number": "06-1111-1111", "hours": "平日"}]
    lines = hotlines_for("dv", tenant)
    assert [h["number"] for h in lines[:2]] == ["06-0000-0000", "06-1111-1111"]
    assert "#8008" not in [h["number"] for h in lines]
    assert "06-0000-0000" in _all_text(hotline_messages("dv", "high", tenant, "ja"))


def test_english_replies():
    text = _all_text(hotline_messages("danger", "immediate", [], "en"))
    assert "call 110" in text and "24 hours" in text


def test_unknown_category_is_rejected():
    with pytest.raises(ValueError):
        hotline_messages("weather", "high", [], "ja")


def _incoming(text: str, *, log_bodies: bool = False, language: str = "ja"):
    from bot.chat import Incoming
    from bot.config import Tenant

    tenant = Tenant(id="suita", display_name="吹田市", lg_code="272051", log_message_bodies=log_bodies,
                    hotlines=[{"category": "suicide", "name": "吹田市こころの相談", "number": "06-0000-0000",
                               "hours": "平日9時〜17時半"}])
    return Incoming(tenant=tenant, user_id="U1", kind="text", webhook_event_id="E1", timestamp_ms=0, text=text,
                    language=language)


def test_crisis_reply_uses_tenant_hotlines_and_logs_no_text_by_default(caplog):
    from nlu.crisis import crisis_reply

    caplog.set_level("WARNING", logger="nlu.crisis")
    assessment, messages = crisis_reply(_incoming("もう消えたい"))
    assert assessment.category == "suicide"
    assert "06-0000-0000" in _all_text(messages)
    [record] = caplog.records
    assert record.crisis == {"tenant": "suita", "user": "U1", "event": "E1", "category": "suicide",
                             "severity": "high", "rule": "suicide.wish"}
    assert "消えたい" not in caplog.text


def test_crisis_reply_logs_the_body_only_when_the_tenant_opts_in(caplog):
    from nlu.crisis import crisis_reply

    caplog.set_level("WARNING", logger="nlu.crisis")
    crisis_reply(_incoming("もう消えたい", log_bodies=True))
    assert caplog.records[0].crisis["text"] == "もう消えたい"
    assert crisis_reply(_incoming("ごみの日はいつ")) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("子どもが友達を叩いてしまう", None),  # the child hits, nobody hits the child
    ("今から区役所に行きます", None),
    ("殴られたことはないけど夫が怖い", "dv"),
    ("母の介護で疲れて限界、消えたい", "suicide"),
])
def test_subject_and_context_matter(text, expected):
    result = assess(text)
    assert (result.category if result else None) == expected


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_assess_never_raises_and_answers_a_known_category(text):
    result = assess(text)
    assert result is None or (result.category in CATEGORIES and result.severity in ("immediate", "high"))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([" ", "　", "😢", "🙏", "\u200d", "️"]), min_size=1, max_size=4))
def test_spaces_and_emoji_inside_a_phrase_do_not_hide_it(noise):
    text = "死に" + "".join(noise) + "たい"
    assert assess(text).category == "suicide"
