"""Training data, intent map and entity resources stay consistent with each other."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from nlu import geo
from nlu.entities import EntityExtractor
from nlu.intents import ALL_INTENTS, CONSULTATION_ROUTES, CONSULTATIONS, FAQ_TOPICS, group_of, is_unknown
from nlu.training_data import load_examples, strip_annotations

NLU = Path(__file__).resolve().parents[3] / "nlu"


def test_every_intent_has_at_least_30_distinct_examples_and_no_unknown_intents():
    counts = Counter(e.intent for e in load_examples())
    assert set(counts) == set(ALL_INTENTS)
    assert min(counts.values()) >= 30, counts.most_common()[-3:]
    texts = [e.text for e in load_examples()]
    assert len(texts) == len(set(texts)), "an example appears twice"


def test_domain_lists_exactly_the_intents_in_the_map():
    domain = yaml.safe_load((NLU / "domain.yml").read_text("utf-8"))
    assert set(domain["intents"]) == set(ALL_INTENTS)
    assert set(domain["entities"]) == {"municipality", "place", "date"}


def test_held_out_messages_are_not_in_the_training_data():
    training = {e.text for e in load_examples()}
    names = ("crisis_messages.tsv", "crisis_messages_fresh.tsv", "crisis_messages_round3.tsv", "intent_messages.tsv")
    held_out = [line.split("\t")[-1] for name in names
                for line in (NLU / "tests" / name).read_text("utf-8").splitlines() if line.strip()]
    assert training.isdisjoint(held_out), sorted(training & set(held_out))


def test_consultation_routes_cover_every_consultation_with_a_queue_and_risk():
    assert set(CONSULTATION_ROUTES) == set(CONSULTATIONS)
    assert CONSULTATION_ROUTES["consult_dv"].risk == "high"
    assert CONSULTATION_ROUTES["consult_mental"].crisis_category == "suicide"
    assert group_of("faq_tax") == "faq" and group_of("consult_dv") == "consultation" and group_of("help") == "control"
    assert is_unknown("nlu_fallback") and is_unknown("out_of_scope") and not is_unknown("faq_tax")
    assert len(FAQ_TOPICS) == 13


def test_annotations_are_stripped():
    assert strip_annotations("[茨木市](municipality)の[避難所](place)") == "茨木市の避難所"


def test_lookup_file_is_generated_from_the_csv_and_covers_every_municipality_and_ward():
    assert (NLU / "data" / "lookups.yml").read_text("utf-8") == geo.rasa_lookup_yaml()
    munis = geo.municipalities()
    assert sum(m.kind in ("市", "町", "村") for m in munis) == 43
    assert sum(m.kind == "区" for m in munis) == 31
    for m in munis:
        assert m.jis5 in geo.resolve_municipality(m.name)


def test_municipality_variants_resolve_to_codes():
    assert geo.resolve_municipality("堺") == ("27140",)
    assert set(geo.resolve_municipality("北区")) == {"27127", "27146"}  # 大阪市北区 and 堺市北区
    assert geo.resolve_municipality("熊取町") == geo.resolve_municipality("泉南郡熊取町")
    assert geo.resolve_municipality("四条畷市") == geo.resolve_municipality("四條畷市") != ()
    assert geo.resolve_municipality("横浜市") == ()


def test_entity_extractor_finds_municipality_place_and_date_without_overlap():
    found = EntityExtractor().extract("大阪市北区の避難所、明日の3月5日に梅田駅へ")
    assert [(e["entity"], e["value"]) for e in found] == [
        ("municipality", "大阪市北区"), ("place", "避難所"), ("date", "明日"), ("date", "3月5日"), ("place", "梅田駅")]
    assert found[0]["codes"] == ["27127"]
