"""The crisis layer's first replies: one hotline table, one catalogue, every language the crisis layer detects."""

from __future__ import annotations

import pytest
import yaml

from nlu.crisis_reply import CATEGORIES, HOTLINES_PATH, LANGUAGES, TEXTS_PATH, CrisisReplies

REPLIES = CrisisReplies()


def _text(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages)


def test_every_catalogue_text_exists_in_every_language():
    texts = yaml.safe_load(TEXTS_PATH.read_text(encoding="utf-8"))
    assert tuple(texts["languages"]) == LANGUAGES
    missing = []
    for key, node in texts.items():
        if key == "languages":
            continue
        for sub, per_lang in (node.items() if key == "opening" else [(None, node)]):
            missing += [(key, sub, lang) for lang in LANGUAGES if not per_lang.get(lang)]
    assert missing == []


def test_every_hotline_names_its_official_source_and_a_name_in_japanese_and_english():
    raw = yaml.safe_load(HOTLINES_PATH.read_text(encoding="utf-8"))
    assert raw["reviewed"]
    for line in raw["lines"]:
        assert line["source"].startswith("https://"), line["id"]
        assert line["name"].get("ja") and line["name"].get("en"), line["id"]
        assert set(line["languages"]) <= {"ja", "en", "zh-Hans", "ko", "vi", "tl", "pt", "ne", "id"}


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_crisis_reply_in_the_residents_language_names_a_line_that_speaks_it(category, language):
    messages = REPLIES.crisis(category, "high", language)
    assert 2 <= len(messages) <= 5 and all(m["type"] == "text" for m in messages)
    spoken = [h for h in REPLIES.lines_for(category, language) if h.speaks(language) and h.number]
    assert spoken, f"no line with a number speaks {language} for {category}"
    assert spoken[0].number in _text(messages)
    assert REPLIES.text("opening", language, {"suicide": "suicide", "self_harm": "self_harm", "dv": "violence",
                                              "stalking": "violence", "sexual_violence": "violence",
                                              "child_abuse": "protect", "elder_abuse": "protect",
                                              "danger": "danger"}[category]) in messages[0]["text"]
    [button] = messages[-1]["quickReply"]["items"]
    assert button["action"]["type"] == "postback" and "action=talk" in button["action"]["data"]


def test_foreign_languages_list_their_own_lines_before_japanese_only_ones():
    lines = REPLIES.lines_for("suicide", "vi")
    speaks = [h.speaks("vi") for h in lines]
    assert speaks == sorted(speaks, reverse=True)  # all speaking lines first
    text = _text(REPLIES.crisis("suicide", "high", "vi"))
    assert "0120-279-338" in text and "nhấn số 2" in text  # the foreign-language line of よりそいホットライン
    assert "(tiếng Nhật)" in text  # a Japanese-only line is marked as such
    tell = next(h for h in REPLIES.hotlines if h.id == "tell_lifeline")
    assert REPLIES.format_line(tell, "vi").endswith("(tiếng Anh)")  # an English-only line as English
    assert not REPLIES.format_line(tell, "en").endswith("(English)")  # no marker in the line's own language


def test_immediate_danger_says_call_110_or_119_first_in_every_language():
    for language in LANGUAGES:
        first = REPLIES.crisis("suicide", "immediate", language)[0]["text"]
        assert first.index("110") < len(REPLIES.text("immediate", language)) and "119" in first
        assert "110" not in REPLIES.crisis("suicide", "high", language)[0]["text"]


def test_tenant_lines_come_first_and_replace_a_default_with_the_same_number():
    tenant = [{"category": "dv", "name": "市のDV相談", "number": "06-0000-0000", "hours": "平日9時〜17時"},
              {"category": "all", "name": "市の相談窓口", "number": "0120-279-889", "hours": "平日"}]
    lines = REPLIES.lines_for("dv", "ja", tenant)
    assert [h.number for h in lines[:2]] == ["06-0000-0000", "0120-279-889"]
    assert sum(h.number == "0120-279-889" for h in lines) == 1  # DV相談＋ replaced, not listed twice
    assert "06-0000-0000" in _text(REPLIES.crisis("dv", "high", "ja", tenant))


def test_concern_is_one_short_check_in_with_two_lines_and_two_choices():
    [message] = REPLIES.concern("suicide", "en")
    assert message["text"].startswith("We are a little worried")
    assert message["text"].count("・") == 2 and "110" not in message["text"]
    data = [i["action"]["data"] for i in message["quickReply"]["items"]]
    assert any("action=talk" in d for d in data) and any("action=fine" in d for d in data)


def test_unknown_category_is_refused_and_unknown_language_falls_back_to_english():
    with pytest.raises(ValueError):
        REPLIES.crisis("weather", "high", "ja")
    assert REPLIES.crisis("danger", "high", "xx")[0]["text"] == REPLIES.text("opening", "en", "danger")
