"""The crisis layer: held-out recall, false alarms on everyday (figurative) messages, normalization, replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.crisis import CATEGORIES, CrisisAssessment, assess

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


# These sets were labelled before self_harm, elder_abuse and stalking became categories of their own.
_NOW_FINER = {"suicide": {"self_harm"}, "danger": {"stalking"}, "child_abuse": set(), "dv": {"stalking"},
              "sexual_violence": set()}


def test_earlier_rounds_crisis_messages_are_all_caught_with_the_right_category():
    missed = [(cat, text, assess(text)) for cat, text in _crisis_set()
              if (a := assess(text)) is None or (a.category != cat and a.category not in _NOW_FINER[cat])]
    assert missed == []
    assert {cat for cat, _ in _crisis_set()} == set(_NOW_FINER)


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
    assert result is None or (result.category in CATEGORIES and result.severity in ("immediate", "high", "concern"))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([" ", "　", "😢", "🙏", "\u200d", "️"]), min_size=1, max_size=4))
def test_spaces_and_emoji_inside_a_phrase_do_not_hide_it(noise):
    text = "死に" + "".join(noise) + "たい"
    assert assess(text).category == "suicide"
