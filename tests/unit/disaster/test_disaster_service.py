"""Rich menus on LINE, the mode switch (automatic, two-person, idempotent, audited) and thresholds, on fakes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from alerts.jma.parser import parse_telegram
from disaster import service
from disaster.menus import SIZES
from disaster.service import DisasterError, DisasterPolicy

from .fakes import with_bundled_shelters, world

JMX = Path(__file__).resolve().parents[2] / "fixtures" / "jmx"


def telegram(name: str, **replace: str):
    raw = (JMX / name).read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in raw
        raw = raw.replace(old, new)
    return parse_telegram(raw.encode(), name=name)


QUAKE_6MINUS = {"<Area><Name>大阪府北部</Name><Code>520</Code><MaxInt>5-</MaxInt></Area>": "<Area><Name>大阪府北部</Name><Code>520</Code><MaxInt>6-</MaxInt></Area>"}


async def test_menus_upload_once_per_mode_and_language_with_aliases():
    w = world()
    record = await service.provision_menus(w.deps, "demo")
    assert sorted(record.ids) == sorted(f"{m}:{lang}" for m in ("normal", "disaster") for lang in w.deps.languages("demo"))
    calls = [c[0] for c in w.api.calls]
    assert calls.count("create") == calls.count("upload_image") == calls.count("set_alias") == 12
    sizes = {(b["size"]["width"], b["size"]["height"]) for b in w.api.menus.values()}
    assert sizes <= set(SIZES.values())
    assert ("demo", "demo-dis-ko") in w.api.aliases
    w.api.calls.clear()
    assert await service.provision_menus(w.deps, "demo") == record and w.api.calls == []  # unchanged layout: no call
    assert await service.apply_menu(w.deps, "demo")
    assert w.api.default["demo"] == record.ids["normal:ja"]


async def test_switch_is_idempotent_audited_once_and_moves_linked_language_menus_in_two_calls():
    w = world()
    record = await service.provision_menus(w.deps, "demo")
    await service.apply_menu(w.deps, "demo")
    await service.link_language(w.deps, "demo", "U-en", "en")
    await service.link_language(w.deps, "demo", "U-ko", "ko")
    assert w.api.shown("demo", "U-en") == record.ids["normal:en"]
    w.api.calls.clear()
    assert await service.switch_mode(w.deps, "demo", "disaster", ("earthquake",), "jma", "震度6弱")
    assert [c[0] for c in w.api.calls] == ["set_default", "replace_linked"]  # whatever the number of friends
    assert w.api.shown("demo", "U-someone") == record.ids["disaster:ja"]
    assert w.api.shown("demo", "U-en") == record.ids["disaster:en"] and w.api.shown("demo", "U-ko") == record.ids["disaster:ko"]
    assert not await service.switch_mode(w.deps, "demo", "disaster", ("earthquake",), "jma", "again")
    assert [a[2] for a in w.audit] == ["disaster.mode.disaster"]
    assert await service.switch_mode(w.deps, "demo", "disaster", ("tsunami",), "jma", "津波警報") is False
    state = await w.deps.store.state("demo")
    assert state.hazards == ("earthquake", "tsunami") and [a[2] for a in w.audit][-1] == "disaster.hazards"
    # a language chosen during disaster mode gets the disaster menu of that language
    await service.link_language(w.deps, "demo", "U-vi", "vi")
    assert w.api.shown("demo", "U-vi") == record.ids["disaster:vi"]
    await service.link_language(w.deps, "demo", "U-vi", "ja")
    assert w.api.shown("demo", "U-vi") == record.ids["disaster:ja"]


async def test_a_switch_line_did_not_take_is_finished_by_the_next_sync():
    w = world()
    record = await service.provision_menus(w.deps, "demo")
    await service.apply_menu(w.deps, "demo")
    w.api.fail.add("set_default")
    await service.switch_mode(w.deps, "demo", "disaster", ("tsunami",), "jma", "")
    state = await w.deps.store.state("demo")
    assert (state.mode, state.applied) == ("disaster", "normal") and w.api.default["demo"] == record.ids["normal:ja"]
    w.api.fail.clear()
    await service.sync(w.deps, ["demo"])
    assert (await w.deps.store.state("demo")).applied == "disaster" and w.api.default["demo"] == record.ids["disaster:ja"]


@pytest.mark.parametrize(
    ("name", "replace", "policy", "expected"),
    [
        ("osaka_VXSE51_5minus.xml", {}, DisasterPolicy(), ()),  # 震度5弱 < default 震度5強
        ("osaka_VXSE51_5minus.xml", {}, DisasterPolicy(intensity="5-"), ("earthquake",)),
        ("osaka_VXSE51_5minus.xml", QUAKE_6MINUS, DisasterPolicy(), ("earthquake",)),
        ("osaka_VXSE51_5minus.xml", QUAKE_6MINUS | {"<Status>通常</Status>": "<Status>訓練</Status>"}, DisasterPolicy(), ()),
        ("osaka_VTSE41_warning.xml", {}, DisasterPolicy(), ("tsunami",)),
        ("osaka_VTSE41_warning.xml", {}, DisasterPolicy(tsunami="major"), ()),
        ("osaka_VPWW55_level4.xml", {}, DisasterPolicy(), ("flood", "landslide")),  # レベル4 in 吹田市 (not 大阪市)
    ],
)
def test_thresholds(name, replace, policy, expected):
    w = world()
    tg = telegram(name, **replace)
    tenant = "suita" if "VPWW55" in name else "demo"
    codes = {w.deps.tenants[tenant].jis5}
    trigger = service.telegram_trigger(tg, codes, policy, w.deps.areas_of)
    assert (trigger.hazards if trigger else ()) == expected


async def test_a_6minus_telegram_switches_the_demo_city_but_not_an_unaffected_tenant():
    w = world()
    for t in ("demo", "suita"):
        await service.provision_menus(w.deps, t)
    touched = await service.on_telegram(w.deps, telegram("osaka_VXSE51_5minus.xml", **QUAKE_6MINUS))
    assert touched == {"demo": ("earthquake",), "suita": ("earthquake",)}  # both in 大阪府北部
    tsunami = await service.on_telegram(w.deps, telegram("osaka_VTSE41_warning.xml"))
    assert "demo" in tsunami
    assert (await w.deps.store.state("demo")).hazards == ("earthquake", "tsunami")
    rain = await service.on_telegram(w.deps, telegram("osaka_VPWW55_level4.xml"))
    assert "demo" not in rain  # 大阪市 had レベル3 only


async def test_staff_switch_needs_a_second_person_and_only_staff_switch_back():
    w = world()
    await service.provision_menus(w.deps, "demo")
    with pytest.raises(DisasterError):
        await service.request_switch(w.deps, "demo", "disaster", (), "editor1", "editor")  # no hazard
    with pytest.raises(DisasterError):
        await service.request_switch(w.deps, "demo", "disaster", ("tsunami",), "viewer1", "viewer")
    req = await service.request_switch(w.deps, "demo", "disaster", ("tsunami",), "editor1", "editor", "訓練ではありません")
    with pytest.raises(DisasterError, match="本人"):
        await service.approve_switch(w.deps, "demo", req.id, "editor1", "supervisor")
    with pytest.raises(DisasterError, match="スーパーバイザー"):
        await service.approve_switch(w.deps, "demo", req.id, "editor2", "editor")
    assert (await w.deps.store.state("demo")).mode == "normal"
    assert await service.approve_switch(w.deps, "demo", req.id, "super1", "supervisor")
    with pytest.raises(DisasterError):  # one approval only
        await service.approve_switch(w.deps, "demo", req.id, "super2", "supervisor")
    state = await w.deps.store.state("demo")
    assert state.mode == "disaster" and state.by == "editor1+super1" and state.applied == "disaster"
    back = await service.request_switch(w.deps, "demo", "normal", (), "super1", "supervisor")
    await service.approve_switch(w.deps, "demo", back.id, "admin1", "admin")
    state = await w.deps.store.state("demo")
    assert (state.mode, state.hazards, state.applied) == ("normal", (), "normal")
    actions = [a[2] for a in w.audit]
    assert actions == ["disaster.request", "disaster.approve", "disaster.mode.disaster", "disaster.request", "disaster.approve", "disaster.mode.normal"]


async def test_shelter_status_is_audited_and_unknown_sites_refused():
    w = world()
    await with_bundled_shelters(w)
    sid = (await service.shelter_index(w.deps, "demo")).shelters[0].id
    await service.set_shelter_status(w.deps, "demo", sid, "open", "staff1")
    with pytest.raises(DisasterError):
        await service.set_shelter_status(w.deps, "demo", "E-nope", "open", "staff1")
    with pytest.raises(DisasterError):
        await service.set_shelter_status(w.deps, "demo", sid, "maybe", "staff1")
    assert [(a[2], a[3], a[4]) for a in w.audit if a[2] == "shelter.status"] == [("shelter.status", sid, {"status": "open"})]
    assert [s.id for s, _ in await service.open_shelters(w.deps, "demo")] == [sid]


def test_a_special_warning_for_wind_switches_without_a_shelter_hazard_and_lifting_does_not():
    w = world()

    def tg(status: str, level: int) -> NS:
        warning = NS(name="暴風特別警報", status=status, level=level)
        return NS(status="actual", info_type="issued", kind="weather_warning", areas=[NS(code="2710000", warnings=[warning])])

    trigger = service.telegram_trigger(tg("発表", 5), {"27100"}, DisasterPolicy(), w.deps.areas_of)
    assert trigger is not None and trigger.hazards == ()
    assert service.telegram_trigger(tg("特別警報から警報", 3), {"27100"}, DisasterPolicy(), w.deps.areas_of) is None
    assert service.telegram_trigger(tg("発表", 2), {"27100"}, DisasterPolicy(), w.deps.areas_of) is None  # 注意報


async def test_a_layout_change_moves_language_links_to_the_new_menus_and_deletes_the_old():
    w = world()
    old = await service.provision_menus(w.deps, "demo")
    await service.sync(w.deps, ["demo"])
    await service.link_language(w.deps, "demo", "U-en", "en")
    await service.switch_mode(w.deps, "demo", "disaster", ("tsunami",), "jma", "")
    assert w.api.shown("demo", "U-en") == old.ids["disaster:en"]
    w.deps.menu_config = {"demo": {"disaster": {"columns": 2, "areas": [
        {"key": "shelters", "postback": "room=disaster&action=find"}, {"key": "info", "postback": "room=disaster&action=info"}]}}}
    await service.sync(w.deps, ["demo"])
    new = await w.deps.store.menus("demo")
    assert new.fingerprint != old.fingerprint and new.stale == {}
    assert w.api.shown("demo", "U-en") == new.ids["disaster:en"]  # moved, so the next switch reaches them too
    assert w.api.default["demo"] == new.ids["disaster:ja"]
    assert set(old.ids.values()).isdisjoint(w.api.menus)  # replaced menus deleted
    await service.switch_mode(w.deps, "demo", "normal", (), "a+b", "")
    assert w.api.shown("demo", "U-en") == new.ids["normal:en"]
