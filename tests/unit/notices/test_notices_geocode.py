"""Offline geocoding of notice place texts over the shared gazetteer."""

from __future__ import annotations

import pytest

from alerts.geo import Gazetteer, haversine_m
from alerts.notices.geocode import geocode, normalize_place, town_choices
from alerts.notices.parse import parse_mail

G = Gazetteer.load()

SAMPLE_TOWNS = {
    "01_koekake_kita.eml": ("27127", "大阪市北区", "梅田一丁目"),
    "02_tsukimatoi_sakai.eml": ("27141", "堺市堺区", "南瓦町"),
    "03_koekake_higashiosaka.eml": ("27227", "東大阪市", "若江北町三丁目"),
    "04_satsuei_toyonaka.eml": ("27203", "豊中市", "上野東二丁目"),
    "05_koekake_joto.eml": ("27118", "大阪市城東区", "蒲生一丁目"),
}


@pytest.mark.parametrize("name", sorted(SAMPLE_TOWNS))
def test_samples_geocode_to_their_town(samples, name):
    n = parse_mail(samples[name])
    p = geocode(n.place_text, G, hint=n.municipality_hint)
    assert (p.precision, p.municipality_code, p.municipality_name, p.town) == ("town", *SAMPLE_TOWNS[name])
    # the point is the town's own representative point
    town = G.find_towns(p.town, within=p.municipality_code)[0]
    assert haversine_m(p.lat, p.lng, town.lat, town.lng) < 1


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("梅田1丁目付近", "梅田一丁目付近"),
        ("梅田１丁目付近", "梅田一丁目付近"),
        ("梅田 1 丁目", "梅田一丁目"),
        ("桃山台1丁", "桃山台一丁目"),
        ("梅田1-2-3", "梅田一丁目"),
        ("若江北町12丁目", "若江北町十二丁目"),
    ],
)
def test_normalize_place(raw, expected):
    assert normalize_place(raw) == expected


@pytest.mark.parametrize(
    "text,code,town",
    [
        ("大阪市北区梅田１丁目１８番付近の路上", "27127", "梅田一丁目"),  # 番 dropped: never more precise than 丁目
        ("守口市馬場町二丁目6番付近", "27209", "馬場町二丁目"),
        ("大阪市阿倍野区天王寺町南2丁目付近", "27119", "天王寺町南二丁目"),
        ("大阪市北区梅田付近", "27127", "梅田"),  # 町 named without 丁目: the 町, not a guessed 丁目
    ],
)
def test_town_level(text, code, town):
    p = geocode(text, G)
    assert (p.precision, p.municipality_code, p.town) == ("town", code, town)


def test_town_stem_is_placed_between_its_chome():
    p = geocode("大阪市北区梅田付近", G)
    chome = [G.find_towns(f"梅田{k}丁目", within="27127")[0] for k in "一二三"]
    assert min(t.lat for t in chome) <= p.lat <= max(t.lat for t in chome)


def test_unknown_town_falls_back_to_the_municipality():
    p = geocode("吹田市どこかの公園付近", G)
    assert (p.precision, p.municipality_code, p.town) == ("municipality", "27205", "")
    assert p.lat == G.get("27205").lat and p.reason


def test_town_is_only_searched_inside_the_stated_municipality():
    # 南瓦町 exists in 堺市堺区; named under 吹田市 it must not be matched there
    p = geocode("吹田市南瓦町付近", G)
    assert p.precision == "municipality" and p.municipality_code == "27205"


def test_hint_from_the_subject_is_used_when_the_text_names_no_municipality():
    assert geocode("若江北町3丁目付近", G).precision == "none"
    p = geocode("若江北町3丁目付近", G, hint="東大阪市")
    assert (p.precision, p.town) == ("town", "若江北町三丁目")


def test_no_municipality_is_none():
    p = geocode("駅前の公園", G)
    assert p.precision == "none" and p.lat is None and p.municipality_code is None


def test_town_choices_for_manual_placement():
    choices = town_choices(G, "27100", "梅田")  # a city lists its wards' towns
    assert {c["town"] for c in choices} >= {"梅田一丁目", "梅田二丁目", "梅田三丁目"}
    assert all(c["code"].startswith("271") for c in choices)
