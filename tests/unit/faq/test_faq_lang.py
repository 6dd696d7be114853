"""Other languages: detection, analyzers, the shipped English glossary, translation columns in CSV/JSON."""

from __future__ import annotations

import csv
import io
import json

import pytest

from faq.demo import SAMPLE, SAMPLE_TRANSLATIONS, sample_entries
from faq.io import parse_bytes, parse_translations, write_csv
from faq.lang import (
    ForeignIndex,
    Glossary,
    JapaneseOnlyNlu,
    detect_language,
    glossary,
    stem_en,
    terms,
)


@pytest.mark.parametrize(("text", "preferred", "expected"), [
    ("粗大ごみの出し方", "ja", "ja"), ("住民票", "ja", "ja"), ("そだいごみ", "ja-easy", "ja-easy"),
    ("How do I throw away a sofa?", "ja", "en"), ("LINE", "ja", "ja"), ("sofa", "en", "en"),
    ("대형 쓰레기는 어떻게 버려요?", "ja", "ko"), ("Tôi muốn vứt ghế sofa", "ja", "vi"),
    ("如何扔掉沙发", "zh-Hans", "zh-Hans"), ("Como jogar fora um sofá?", "pt", "pt"),
])
def test_detect_language(text, preferred, expected):
    assert detect_language(text, preferred) == expected


def test_english_analyzer_stems_and_drops_stop_words():
    assert terms("How do I throw away my old sofas?", "en") == ["throw", "away", "old", "sofa"]
    assert [stem_en(w) for w in ("boxes", "moving", "stopped", "cities", "bus")] == ["box", "mov", "stop", "city", "bus"]
    assert "대형" in terms("대형 쓰레기", "ko") and "쓰레" in terms("대형 쓰레기", "ko")  # word + bigrams


def test_glossary_longest_phrase_and_coverage():
    g = Glossary.parse("en", "garbage\tごみ\nbulky garbage\t粗大ごみ\nsofa\t粗大ごみ|ソファ\n")
    assert g.translate("Where is the bulky garbage?") == ("粗大ごみ", 1.0)
    assert g.translate("Where do I put bulky garbage?")[1] == 2 / 3  # "put" is not in it
    japanese, coverage = g.translate("my sofa and my piano")
    assert japanese == "粗大ごみ ソファ" and coverage == 0.5  # "piano" is unknown


def test_shipped_english_glossary_covers_the_demo_faqs_topics():
    g = glossary("en")
    assert g is not None and len(g.phrases) > 300
    for question in ("Where is the evacuation shelter?", "I lost my My Number card",
                     "When is burnable garbage collected?", "How do I apply for the child allowance?"):
        japanese, coverage = g.translate(question)
        assert japanese and coverage == 1.0, question
    assert glossary("xx") is None and glossary("../etc") is None


def test_foreign_index_ranks_translations_and_counts_unknown_words():
    index = ForeignIndex("en", [(0, "How do I throw away bulky garbage?", "Book in advance."),
                                (1, "Where is the library?", "Next to the station.")])
    found, unknown = index.search("throw away a sofa")
    assert found[0][0] == 0 and 0 < found[0][2] < 1 and unknown == 1


def test_translation_columns_round_trip_through_csv_and_json():
    parsed = sample_entries("demo")
    assert not parsed.errors and all("en" in e.translations for e in parsed.entries)
    out = io.StringIO()
    write_csv(parsed.entries, out)
    header = next(csv.reader(io.StringIO(out.getvalue())))
    assert header[-3:] == ["別の聞き方", "質問(en)", "回答(en)"]
    again = parse_bytes(out.getvalue().encode("utf-8"), "demo")
    assert [e.content() for e in again.entries] == [e.content() for e in parsed.entries]
    data = json.dumps([{"ID": "a-1", "質問": "質問です", "回答": "回答です", "alternatives": ["別の言い方"],
                        "translations": {"en": {"question": "Q", "answer": "A"}}}]).encode()
    (entry,) = parse_bytes(data, "demo", is_json=True).entries
    assert entry.alternatives == ["別の言い方"] and entry.translations["en"].answer == "A"


@pytest.mark.parametrize("header", ["question_en,answer_en", "質問（en）,回答（en）", "質問:zh-Hans,回答:zh-Hans"])
def test_translation_headers_in_several_spellings(header):
    body = f"ID,質問,回答,{header}\nx-1,質問です,回答です,Q,A\n".encode()
    (entry,) = parse_bytes(body, "demo").entries
    assert next(iter(entry.translations.values())).question == "Q"


def test_half_a_translation_is_a_row_error_and_the_rest_loads():
    body = "ID,質問,回答,質問(en),回答(en)\nx-1,質問です,回答です,Q only,\nx-2,質問2,回答2,,\n".encode()
    parsed = parse_bytes(body, "demo")
    assert [e.id for e in parsed.entries] == ["x-2"]
    assert "en の翻訳は質問と回答の両方が必要です" in str(parsed.errors[0])


async def test_the_japanese_nlu_is_not_asked_about_other_languages():
    class Nlu:
        def __init__(self) -> None:
            self.asked: list[str] = []

        async def parse(self, text: str) -> str:
            self.asked.append(text)
            return "greet"

    inner = Nlu()
    gate = JapaneseOnlyNlu(inner, "nlu_fallback")
    assert await gate.parse("How do I throw away a sofa?") == "nlu_fallback"
    assert await gate.parse("こんにちは") == "greet"
    assert inner.asked == ["こんにちは"]


def test_the_demo_faq_ships_an_english_translation_of_every_entry():
    translations, errors = parse_translations(SAMPLE_TRANSLATIONS.read_bytes())
    ids = {e.id for e in parse_bytes(SAMPLE.read_bytes(), "demo").entries}
    assert not errors and set(translations) == ids
    assert all(t["en"].question and t["en"].answer for t in translations.values())


def test_a_translations_file_with_half_a_translation_reports_the_row():
    data = "ID,質問(en),回答(en)\na-1,Q,A\na-2,Q only,\n".encode()
    translations, errors = parse_translations(data)
    assert list(translations) == ["a-1"] and errors[0].line == 3
