"""JMA telegram parsing: every type we act on, drills/cancellations/corrections, hostile XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.jma.parser import HostileXMLError, TelegramError, parse_file, parse_telegram

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "jmx"


def _variant(name: str, **replace: str) -> bytes:
    raw = (FIX / name).read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in raw, old
        raw = raw.replace(old, new, 1)
    return raw.encode("utf-8")


@pytest.mark.parametrize(
    "name, ttype, kind",
    [
        ("15_12_01_161130_VPWW53.xml", "VPWW53", "weather_warning"),
        ("15_12_01_161130_VPWW54.xml", "VPWW54", "weather_warning"),
        ("15_16_03_241226_VPWW55.xml", "VPWW55", "weather_warning"),
        ("15_16_01_241031_VPWW56.xml", "VPWW56", "weather_warning"),
        ("15_16_02_241031_VPWW57.xml", "VPWW57", "weather_warning"),
        ("15_16_04_250630_VPWW58.xml", "VPWW58", "weather_warning"),
        ("osaka_VPWW59_waves.xml", "VPWW59", "weather_warning"),
        ("osaka_VPWW60_snow.xml", "VPWW60", "weather_warning"),
        ("15_16_07_250630_VPWW61.xml", "VPWW61", "weather_warning"),
        ("17_04_01_250630_VXWW50.xml", "VXWW50", "landslide_warning"),
        ("18_03_01_190412_VPOA50.xml", "VPOA50", "record_rain"),
        ("32-35_07_02_100915_VXSE51.xml", "VXSE51", "earthquake"),
        ("32-35_04_03_240613_VXSE52.xml", "VXSE52", "earthquake"),
        ("32-39_11_05_240613_VXSE53.xml", "VXSE53", "earthquake"),
        ("32-39_11_02_250206_VTSE41.xml", "VTSE41", "tsunami"),
        ("32-39_11_03_250206_VTSE51.xml", "VTSE51", "tsunami"),
        ("01_01_01_091210_VGSK50.xml", "VGSK50", "unsupported"),
    ],
)
def test_types_and_kinds(name, ttype, kind):
    tg = parse_file(FIX / name)
    assert (tg.type, tg.kind, tg.status, tg.info_type) == (ttype, kind, "actual", "issued")
    assert tg.reported_at.tzinfo is not None
    # the type also comes from Control/Title when the file name does not carry it (feed bodies)
    assert parse_telegram((FIX / name).read_bytes()).type in (ttype, tg.type) or kind == "unsupported"


def test_weather_areas_are_municipalities_with_levels_and_changes():
    tg = parse_file(FIX / "osaka_VPWW55_level4.xml")
    by_code = {a.code: a for a in tg.areas}
    suita = by_code["2720500"].warnings[0]
    assert (suita.name, suita.level, suita.last_level, suita.category) == ("レベル４大雨危険警報", 4, 3, "rain_flood")
    assert suita.is_new_or_upgraded
    assert not by_code["2720300"].warnings[0].is_new_or_upgraded  # 継続
    cont = {a.code: a for a in parse_file(FIX / "osaka_VPWW55_continued.xml").areas}
    assert cont["2720300"].warnings[0].is_lifted  # 警報から注意報


def test_old_format_special_warning_level():
    tg = parse_file(FIX / "15_12_01_161130_VPWW54.xml")
    names = {(w.name, w.level) for a in tg.areas for w in a.warnings}
    assert ("大雨特別警報", 5) in names and ("洪水警報", 3) in names and ("雷注意報", 2) in names


def test_earthquake_cities_carry_intensity_and_seismic_area():
    tg = parse_file(FIX / "osaka_VXSE53_5plus.xml")
    konohana = next(a for a in tg.areas if a.code == "2710400")
    assert (konohana.intensity, konohana.parent) == ("5-", "520")
    assert tg.max_intensity == "5+" and tg.magnitude == "5.9" and tg.hypocenter == "大阪府北部"
    quick = parse_file(FIX / "osaka_VXSE51_5minus.xml")
    assert [(a.code, a.intensity) for a in quick.areas][:2] == [("520", "5-"), ("521", "3")]


def test_tsunami_forecast_area_510():
    tg = parse_file(FIX / "osaka_VTSE41_warning.xml")
    osaka = next(a for a in tg.areas if a.code == "510")
    assert (osaka.category, osaka.kind_code, osaka.last_kind_code) == ("津波警報", "51", "00")


def test_drill_cancel_and_correction_flags():
    assert parse_file(FIX / "32-35_01_03_240613_VXSE53.xml").status == "exercise"
    assert parse_file(FIX / "32-39_12_02_250206_VTSE41.xml").status == "exercise"
    cancelled = parse_file(FIX / "32-35_06_06_100915_VXSE53.xml")
    assert cancelled.info_type == "cancelled" and cancelled.areas == () and "取り消" in cancelled.body_text
    test = parse_telegram(_variant("osaka_VPWW55_level4.xml", **{"<Status>通常</Status>": "<Status>試験</Status>"}))
    assert test.status == "test"
    corrected = parse_telegram(_variant("osaka_VXSE53_5plus.xml", **{"<InfoType>発表</InfoType>": "<InfoType>訂正</InfoType>"}))
    assert corrected.info_type == "corrected" and corrected.areas


def test_key_differs_for_correction_but_not_for_refetch():
    a = parse_file(FIX / "osaka_VXSE53_5plus.xml")
    b = parse_file(FIX / "osaka_VXSE53_5plus.xml")
    c = parse_telegram(_variant("osaka_VXSE53_5plus.xml", **{"<InfoType>発表</InfoType>": "<InfoType>訂正</InfoType>"}))
    assert a.key == b.key != c.key


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Report><Control><Title>&lol3;</Title></Control></Report>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Report><Control><Title>&xxe;</Title></Control></Report>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE])
def test_hostile_xml_is_refused(payload):
    with pytest.raises(HostileXMLError):
        parse_telegram(payload)


def test_oversized_and_malformed_are_clear_errors():
    with pytest.raises(TelegramError, match="exceeds"):
        parse_telegram(b"<Report>" + b" " * (9 * 1024 * 1024) + b"</Report>")
    with pytest.raises(TelegramError, match="malformed"):
        parse_telegram(b"<Report><Control>")
    with pytest.raises(TelegramError, match="not a JMA telegram"):
        parse_telegram(b"<feed/>")


def test_every_shared_sample_parses(shared_fixtures):
    files = sorted((shared_fixtures / "jmx").glob("*.xml"))
    assert len(files) > 300
    kinds = {parse_file(f).kind for f in files}
    assert {"weather_warning", "landslide_warning", "record_rain", "earthquake", "tsunami", "unsupported"} <= kinds
