"""Gazetteer: codes, names (JMA spellings, 四条畷/四條畷), points, JMA areas — checked against JMA's samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.geo import Gazetteer, normalize_name
from alerts.jma.parser import parse_file

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "jmx"


@pytest.fixture(scope="module")
def g() -> Gazetteer:
    return Gazetteer.load()


def test_counts_and_codes(g):
    assert len(g.municipalities()) == 43 and len(g.municipalities(wards=True)) == 43 + 31
    assert g.get("27104") == g.get("271047") == g.get("2710400")
    assert g.get("2710400").name == "大阪市此花区" and g.city_of("2710400").name == "大阪市"
    assert g.city_of("27205").name == "吹田市" and g.jma_code("27100") == "2710000"
    assert [w.short_name for w in g.wards_of("27140")] == ["堺区", "中区", "東区", "西区", "南区", "北区", "美原区"]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("四条畷市", "四條畷市"), ("四條畷市", "四條畷市"), ("大阪此花区", "大阪市此花区"), ("大阪堺市堺区", "堺市堺区"),
        ("大阪和泉市", "和泉市"), ("大阪太子町", "太子町"), ("泉南郡熊取町", "熊取町"), ("大阪府吹田市", "吹田市"),
        ("大阪狭山市", "大阪狭山市"), ("ｽｲﾀ", None), ("北区", None),
    ],
)
def test_name_lookup(g, name, expected):
    m = g.municipality_by_name(name)
    assert (m.name if m else None) == expected


def test_every_osaka_city_in_jma_samples_resolves_with_the_right_seismic_area(g):
    tg = parse_file(FIX / "32-39_11_05_240613_VXSE53.xml")  # 2011: every Osaka municipality listed
    osaka = [a for a in tg.areas if a.parent in ("520", "521")]
    assert len(osaka) >= 60
    for area in osaka:
        m = g.get(area.code)
        assert m is not None and g.municipality_by_name(area.name) == m, area
        assert m.seismic_area == area.parent, area


def test_expand_jma_areas(g):
    north, south = set(g.expand_area("520")), set(g.expand_area("521"))
    assert len(north) == 21 and len(south) == 22 and not north & south
    assert "27100" in north and "27140" in south
    assert len(g.expand_area("510")) == len(g.expand_area("270000")) == 43
    assert g.expand_area("011000") == [] and g.expand_area("440") == []


def test_locate_and_nearest_town(g):
    loc = g.locate(34.7025, 135.4959)
    assert (loc.municipality.name, loc.ward.name, loc.town.name) == ("大阪市", "大阪市北区", "梅田三丁目")
    assert loc.distance_m < 500 and loc.code == "27127"
    suita = g.locate(34.7614, 135.5156)
    assert suita.municipality.name == "吹田市" and suita.ward is None
    assert g.locate(35.6812, 139.7671) is None  # Tokyo


def test_town_lookup_normalizes_numbers_and_ke(g):
    assert normalize_name("梅田1丁目") == "梅田一丁目" and normalize_name("Ｏ１２丁目") == "O十二丁目"
    assert [t.code for t in g.find_towns("梅田1丁目")] == ["27127"]
    assert g.find_towns("梅田1丁目", within="27100") and not g.find_towns("梅田1丁目", within="27205")
    towns = g.towns_in_text("本日、大阪市北区梅田1丁目付近で", within="27100")
    assert [t.name for t in towns] == ["梅田一丁目"]


def test_municipalities_in_text(g):
    found = g.municipalities_in_text("大阪市北区付近で約１００ミリ、四条畷市付近で約９０ミリ")
    assert [m.name for m in found] == ["大阪市北区", "四條畷市"]


def test_towns_of_includes_wards_of_a_city(g):
    kita = g.towns_of("27127")
    osaka = g.towns_of("27100")
    assert kita and all(t.code == "27127" for t in kita)
    assert len(osaka) > len(kita) and {t.code for t in osaka} <= {w.jis5 for w in g.wards_of("27100")}
