"""GSI CSV import (real files, broken rows, encodings) and the nearest-sites query against a brute-force oracle."""

from __future__ import annotations

import random

import pytest

from disaster.cli import BUNDLED
from disaster.model import HAZARDS, OpenStatus, Shelter, required_hazards
from disaster.shelters import ShelterCsvError, ShelterIndex, distance_m, nearest_brute_force, parse_csv

from .fakes import KISHIWADA_STATION

HEADER = "NO,共通ID,施設・場所名,住所,洪水,崖崩れ、土石流及び地滑り,高潮,地震,津波,大規模な火事,内水氾濫,火山現象,指定避難所との住所同一,緯度,経度,備考\n"


def _file(name: str) -> bytes:
    return next(p for p in BUNDLED if p.name.startswith(name)).read_bytes()


def test_the_two_real_municipalities_import_completely():
    kishiwada, suita = parse_csv(_file("27202")), parse_csv(_file("27205"))
    assert (len(kishiwada.shelters), kishiwada.errors) == (73, [])
    assert (len(suita.shelters), suita.errors) == (100, [])
    first = kishiwada.shelters[0]
    assert first.name == "大芝小学校 (3階廊下)" and first.hazards == {"storm_surge", "tsunami"}
    assert first.municipality == "27202" and suita.shelters[0].municipality == "27205"
    assert not any("tsunami" in s.hazards for s in suita.shelters)  # inland
    assert sum("tsunami" in s.hazards for s in kishiwada.shelters) > 10


def test_shift_jis_and_bom_are_read():
    row = "1,E2720200000001,テスト公園,大阪府岸和田市,,,,1,,,,,,34.46,135.37,\n"
    assert parse_csv((HEADER + row).encode("cp932")).shelters[0].name == "テスト公園"
    assert parse_csv(("\ufeff" + HEADER + row).encode("utf-8")).shelters[0].hazards == {"earthquake"}


def test_bad_rows_are_reported_by_line_and_good_rows_kept():
    rows = [
        "1,E2720200000001,良い公園,住所,,,,1,,,,,,34.46,135.37,",
        "2,,名前あり,住所,,,,1,,,,,,34.46,135.37,",
        "3,E2720200000003,緯度が変,住所,,,,1,,,,,,abc,135.37,",
        "4,E2720200000004,海外,住所,,,,1,,,,,,0,0,",
        "5,E2720200000005,印が変,住所,,,,○,,,,,,34.46,135.37,",
        "6,E2720200000001,重複,住所,,,,1,,,,,,34.46,135.37,",
        "7,E2720200000007,,住所,,,,1,,,,,,34.46,135.37,",
    ]
    result = parse_csv((HEADER + "\n".join(rows) + "\n").encode())
    assert [s.name for s in result.shelters] == ["良い公園"]
    assert [line for line, _ in result.errors] == [3, 4, 5, 6, 7, 8]
    assert "共通ID" in result.errors[0][1] and "緯度" in result.errors[1][1] and "地震" in result.errors[3][1]


def test_a_file_that_is_not_gsi_layout_is_refused_whole():
    with pytest.raises(ShelterCsvError, match="緯度"):
        parse_csv("共通ID,施設・場所名,地震\nE1,x,1\n".encode())
    with pytest.raises(ShelterCsvError, match="文字コード"):
        parse_csv(b"\xff\xfe\x00\x00\x81")


def test_nearest_matches_the_brute_force_oracle_and_never_a_site_not_designated():
    sites = parse_csv(_file("27202")).shelters + parse_csv(_file("27205")).shelters
    rng = random.Random(7)
    index = ShelterIndex(sites)
    for _ in range(300):
        lat, lng = rng.uniform(34.40, 34.82), rng.uniform(135.33, 135.58)
        hazards = required_hazards({rng.choice(HAZARDS)})
        got = index.nearest(lat, lng, hazards)
        want = nearest_brute_force(sites, lat, lng, hazards)
        assert [n.shelter.id for n in got] == [n.shelter.id for n in want]
        assert all(set(hazards) <= n.shelter.hazards and n.distance_m <= 3000 for n in got)


def test_tsunami_in_kishiwada_gives_only_tsunami_sites_nearest_first():
    index = ShelterIndex(parse_csv(_file("27202")).shelters)
    got = index.nearest(*KISHIWADA_STATION, ("tsunami",))
    assert len(got) == 5 and all("tsunami" in n.shelter.hazards for n in got)
    assert [n.distance_m for n in got] == sorted(n.distance_m for n in got)


def test_open_sites_rank_first_then_full_and_closed_last():
    a = Shelter("E1", "A", "", 34.0, 135.0, frozenset({"earthquake"}))
    b = Shelter("E2", "B", "", 34.001, 135.0, frozenset({"earthquake"}))
    c = Shelter("E3", "C", "", 34.002, 135.0, frozenset({"earthquake"}))
    index = ShelterIndex([a, b, c])
    statuses = {"E1": OpenStatus("full", 1.0, "s"), "E3": OpenStatus("open", 1.0, "s")}
    assert [n.shelter.name for n in index.nearest(34.0, 135.0, ("earthquake",), statuses=statuses)] == ["C", "B", "A"]
    assert index.nearest(34.0, 135.0, ()) == []  # no hazard, no suggestion


def test_heavy_rain_needs_sites_designated_for_every_rain_hazard_in_force():
    assert required_hazards({"earthquake", "tsunami"}) == ("tsunami",)
    assert required_hazards({"flood", "landslide", "earthquake"}) == ("flood", "landslide")
    assert required_hazards(set()) == ()


def test_distance_is_metres():
    assert 1100 < distance_m(34.0, 135.0, 34.01, 135.0) < 1120
