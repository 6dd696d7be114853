"""The one English stemmer the FAQ and the garbage search share (bot/english.py)."""

from bot.english import stem_en, stem_plural
from faq import lang
from garbage import english


def test_plurals_and_verb_endings():
    plurals = ("batteries", "boxes", "cans", "glass", "bus", "knives", "shelves", "houses", "potatoes", "address")
    expected = ["battery", "box", "can", "glass", "bus", "knife", "shelf", "house", "potato", "address"]
    assert [stem_plural(w) for w in plurals] == expected
    assert [stem_en(w) for w in plurals] == expected
    assert [stem_en(w) for w in ("moving", "stopped", "running", "filled", "bed")] == ["mov", "stop", "run", "fill", "bed"]
    assert stem_plural("moving") == "moving"  # item names keep their -ing (a "filling", "packing")


def test_faq_and_garbage_stem_plurals_the_same_way():
    for word in ("knives", "shelves", "houses", "glasses", "batteries", "cans"):
        assert lang.words(word, "en") == english.words(word) == [stem_plural(word)]
