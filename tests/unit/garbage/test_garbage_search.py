"""Item search on the demo data: the issue's examples, width/kana/kanji variants, readings, common names,
partial names, ambiguity and unknown items."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("query,name,category", [
    ("ペットボトルのキャップ", "ペットボトルのキャップ", "プラスチック製容器包装"),
    ("電池", "電池", "有害ごみ"),
    ("スプレー缶", "スプレー缶", "缶・びん・ペットボトル"),
    ("ｽﾌﾟﾚｰ缶", "スプレー缶", "缶・びん・ペットボトル"),  # half width
    ("すぷれーかん", "スプレー缶", "缶・びん・ペットボトル"),  # reading in hiragana
    ("でんち", "電池", "有害ごみ"),
    ("ほうちょう", "包丁", "燃やさないごみ"),
    ("フライパンは何ごみ？", "フライパン", "燃やさないごみ"),
    ("古い自転車を処分したい", "自転車", "粗大ごみ"),
    ("スマホはどう捨てる？", "スマートフォン", "小型家電"),  # common name
    ("ダンボール", "段ボール", "古紙・衣類"),
    ("割れたお皿", "皿", "燃やさないごみ"),  # partial name inside a phrase
    ("ＴＶ台じゃなくてテレビ", "テレビ", "市では収集できないもの"),
])
def test_finds(index, query, name, category):
    r = index.search(query)
    assert r.best is not None and r.best.item is not None, query
    assert (r.best.item.name, r.best.item.category) == (name, category)


def test_ambiguous_sofa_offers_choices(index):
    r = index.search("ソファ")
    assert not r.confident
    names = [c.item.name for c in r.candidates[:2]]
    assert sorted(names) == ["ソファ（1人用）", "ソファ（2人用以上）"]
    assert index.search("ソファ（1人用）").confident


def test_category_question(index):
    r = index.search("粗大ごみの出し方")
    assert r.confident and r.best.item is None and r.best.category.label == "粗大ごみ"


def test_unknown_and_unrelated(index):
    assert index.search("タイムマシン").candidates == ()
    assert not index.search("保育園の申し込み").candidates
    assert index.search("黒板消しの捨て方").framed
