"""What a resident sees: the disaster menu's taps, 「避難所はどこ？」, a shared location, 安否, language menus."""

from __future__ import annotations

from urllib.parse import unquote

from bot.chat import parse_postback
from disaster import service
from disaster.chat import DisasterRoom, language_menu_middleware
from disaster.menus import DEFAULTS

from .fakes import DEMO, KISHIWADA_STATION, incoming, with_bundled_shelters, world


def _carousel(out: list[dict]) -> list[dict]:
    flex = [m for m in out if m["type"] == "flex"]
    assert len(flex) == 1, out
    return flex[0]["contents"]["contents"]


def _names(out: list[dict]) -> list[str]:
    return [b["body"]["contents"][0]["text"] for b in _carousel(out)]


async def _tap(room: DisasterRoom, data: str, **kw) -> list[dict]:
    return await room.on_postback(incoming("postback", postback=parse_postback(data), **kw), parse_postback(data))


async def test_without_a_hazard_in_force_the_bot_asks_which_hazard_then_for_the_location():
    w = world()
    await with_bundled_shelters(w)
    room = DisasterRoom(w.deps)
    out = await _tap(room, "room=disaster&action=find")
    labels = [i["action"]["label"] for i in out[0]["quickReply"]["items"]]
    assert "津波" in labels and "地震" in labels and "どの災害" in out[0]["text"]
    tsunami = next(i["action"]["data"] for i in out[0]["quickReply"]["items"] if i["action"]["label"] == "津波")
    out = await _tap(room, tsunami)
    assert out[0]["quickReply"]["items"][0]["action"]["type"] == "location"
    answer = await room.on_location(incoming("location", location=KISHIWADA_STATION))
    index = await service.shelter_index(w.deps, "demo")
    by_name = {s.name: s for s in index.shelters}
    assert all("tsunami" in by_name[n].hazards for n in _names(answer))
    assert "出典：国土地理院" in answer[0]["text"] and "最新でない" in answer[0]["text"]


async def test_during_a_tsunami_warning_a_shared_location_gets_only_tsunami_sites_and_full_ones_drop():
    w = world()
    await with_bundled_shelters(w)
    await service.provision_menus(w.deps, "demo")
    await service.switch_mode(w.deps, "demo", "disaster", ("earthquake", "tsunami"), "jma", "")
    room = DisasterRoom(w.deps)
    first = await room.on_location(incoming("location", location=KISHIWADA_STATION))
    names = _names(first)
    index = await service.shelter_index(w.deps, "demo")
    by_name = {s.name: s for s in index.shelters}
    assert len(names) == 5 and all("tsunami" in by_name[n].hazards for n in names)
    await service.set_shelter_status(w.deps, "demo", by_name[names[0]].id, "full", "staff1")
    second = await room.on_location(incoming("location", location=KISHIWADA_STATION))
    again = _names(second)
    assert again[0] == names[1] and names[0] not in again[:-1]  # the full site ranks after every available one
    assert all("tsunami" in by_name[n].hazards for n in again)
    await service.set_shelter_status(w.deps, "demo", by_name[names[4]].id, "open", "staff1")
    third = await room.on_location(incoming("location", location=KISHIWADA_STATION))
    assert _names(third)[0] == names[4]  # open sites first
    assert any("開設" in c.get("text", "") for c in _carousel(third)[0]["body"]["contents"])


async def test_a_location_in_normal_mode_without_a_search_goes_to_other_rooms():
    w = world()
    room = DisasterRoom(w.deps)
    assert await room.on_location(incoming("location", location=KISHIWADA_STATION)) is None


async def test_none_within_3km_says_so_and_no_data_says_so():
    w = world()
    room = DisasterRoom(w.deps)
    await _tap(room, "room=disaster&action=find&hz=tsunami")
    out = await room.on_location(incoming("location", location=(34.70, 135.50)))
    assert "まだありません" in out[0]["text"]
    await with_bundled_shelters(w)
    await _tap(room, "room=disaster&action=find&hz=tsunami")
    out = await room.on_location(incoming("location", location=(34.95, 135.45)))  # 北摂の山: no 津波 site near
    assert "3km以内" in out[0]["text"] and len(out) == 1


async def test_shelter_question_in_text_starts_the_search_other_text_is_not_mine():
    w = world()
    room = DisasterRoom(w.deps)
    out = await room.on_text(incoming("text", text="避難所はどこ？"), None)
    assert out is not None and "どの災害" in out[0]["text"]
    assert await room.on_text(incoming("text", text="ヒナンジョ　ドコ"), None) is not None  # width and kana folded
    assert await room.on_text(incoming("text", text="where is the nearest shelter?", language="en"), None) is not None
    assert await room.on_text(incoming("text", text="粗大ごみの出し方"), None) is None


async def test_safety_share_link_carries_the_message_and_the_city_keeps_no_recipient():
    w = world()
    room = DisasterRoom(w.deps)
    out = await _tap(room, "room=disaster&action=safe&s=shelter")
    assert "名前" in out[0]["text"]
    out = await room.on_text(incoming("text", text="大芝小学校"), None)
    uri = out[0]["contents"]["footer"]["contents"][0]["action"]["uri"]
    assert uri.startswith("https://line.me/R/share?text=") and "大芝小学校" in unquote(uri)
    assert await w.deps.store.pending("demo", "U1") is None
    assert await room.on_text(incoming("text", text="大芝小学校"), None) is None  # nothing pending any more


async def test_menu_texts_in_every_language_of_the_demo_tenant():
    w = world()
    room = DisasterRoom(w.deps)
    for lang in DEMO.languages:
        out = await _tap(room, "room=disaster&action=back", language=lang)
        assert out[0]["text"]
        if lang not in ("ja", "ja-easy"):
            assert "職員" not in out[0]["text"]


async def test_choosing_a_language_links_that_languages_menu():
    w = world()
    record = await service.provision_menus(w.deps, "demo")
    await service.apply_menu(w.deps, "demo")
    mw = language_menu_middleware(w.deps)

    async def handler(inc, data):  # the alerts room's language choice sets incoming.language
        inc.language = "en"
        return []

    await mw(handler, incoming("postback", postback={"room": "alerts", "action": "langset", "code": "en"}), {})
    assert w.api.shown("demo", "U1") == record.ids["normal:en"]


def test_every_default_area_is_a_postback_or_message_the_router_knows():
    known_rooms = {"alerts", "disaster", "reports"}  # reports: the 通報 room being built in parallel (data-driven)
    for spec in DEFAULTS.values():
        for area in spec.areas:
            if area.postback:
                assert parse_postback(area.postback)["room"] in known_rooms
            else:
                assert area.message and area.message.startswith("send.")


async def test_a_registered_place_can_be_picked_instead_of_sharing_a_location():
    w = world()
    await with_bundled_shelters(w)

    async def places(tenant: str, user: str) -> list[tuple[str, float, float]]:
        return [("実家", *KISHIWADA_STATION)] if (tenant, user) == ("demo", "U1") else []

    w.deps.places = places
    room = DisasterRoom(w.deps)
    out = await _tap(room, "room=disaster&action=find&hz=tsunami")
    item = next(i["action"] for i in out[0]["quickReply"]["items"] if i["action"]["label"] == "実家")
    answer = await _tap(room, item["data"])
    by_name = {s.name: s for s in (await service.shelter_index(w.deps, "demo")).shelters}
    assert len(_names(answer)) == 5 and all("tsunami" in by_name[n].hazards for n in _names(answer))
