"""The PII filter that keeps residents' personal data out of the unanswered-questions list."""

from __future__ import annotations

import pytest

from faq.pii import contains_pii
from faq.unanswered import admissible

WITH_PII = [
    "電話番号は090-1234-5678です。粗大ごみを出したい",
    "０６－６１２３－４５６７に折り返しください",  # full-width digits
    "06 6123 4567 に電話して",
    "+81 90 1234 5678",
    "大阪市北区梅田1丁目2番3号のごみ置き場",
    "梅田3-4-5の前に粗大ごみが捨ててある",
    "三丁目の公園でバーベキューできる？ 住所は中央町五丁目",
    "〒530-0001 の住民票",
    "山田太郎と申します。住民票がほしい",
    "私の名前は佐藤です",
    "田中さんの家の前に粗大ごみがある",
    "鈴木一郎です。転入届を出したい",
    "my name is John, how do I throw away a sofa",
    "mail me at a.b@example.com",
    "マイナンバーは123456789012です",
    "口座番号 1234567 に振り込んだ",
]
WITHOUT_PII = [
    "粗大ごみの出し方を教えて",
    "住民票はどこで取れますか？",
    "How do I throw away a sofa?",
    "燃えるごみは何曜日？",
    "2025年の住民税はいくら？",
    "20歳になったら年金の手続きは必要？",
    "市役所は8時30分から開いていますか",
    "マイナンバーカードをなくした",
    "子ども医療費の助成について",
    "大阪城公園でバーベキューできる？",
    "犬の登録は必要ですか",
    "1歳6か月健診はいつ？",
    "ふるさと納税をしたい",
]


@pytest.mark.parametrize("text", WITH_PII)
def test_personal_data_is_detected(text):
    assert contains_pii(text)
    assert not admissible(text, flagged=False)


@pytest.mark.parametrize("text", WITHOUT_PII)
def test_ordinary_faq_questions_pass(text):
    assert not contains_pii(text)
    assert admissible(text, flagged=False)


def test_flagged_empty_and_overlong_messages_are_not_admissible():
    assert not admissible("粗大ごみの出し方を教えて", flagged=True)
    assert not admissible(" ", flagged=False)
    assert not admissible("ごみ" * 150, flagged=False)
