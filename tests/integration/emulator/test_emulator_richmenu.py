"""The emulator's Rich Menu endpoints: against messaging-api.yml, LINE's rules, and driven by civicbot's own adapter
(``disaster.richmenu.SdkRichMenuApi``, real line-bot-sdk calls)."""

from __future__ import annotations

import json

import pytest

from disaster.menus import DEFAULTS, render_image, rich_menu_json
from disaster.richmenu import RichMenuError, SdkRichMenuApi

from .spec import checked_call

AUTH = {"Authorization": "Bearer demo-token"}
MENU = rich_menu_json(DEFAULTS["normal"], "normal", "ja", "demo")


@pytest.fixture
async def adapter(emu_url):
    api = SdkRichMenuApi({"demo": "demo-token", "suita": "suita-token"}, emu_url)
    yield api
    await api.aclose()


async def test_create_validate_get_list_default_link_alias_batch_match_the_spec(emu, adapter):
    status, raw, _ = await checked_call(emu, "post", "/v2/bot/richmenu", json_body=MENU, headers=AUTH)
    assert status == 200
    rid = json.loads(raw)["richMenuId"]
    status, _, _ = await checked_call(emu, "post", "/v2/bot/richmenu/validate", json_body=MENU, headers=AUTH)
    assert status == 200
    # no image yet: LINE refuses to show it
    status, _, _ = await checked_call(emu, "post", "/v2/bot/user/all/richmenu/{richMenuId}", path_params={"richMenuId": rid}, headers=AUTH)
    assert status == 400
    await adapter.upload_image("demo", rid, render_image(DEFAULTS["normal"], "normal", "ja"), "image/png")
    status, raw, _ = await checked_call(emu, "get", "/v2/bot/richmenu/{richMenuId}", path_params={"richMenuId": rid}, headers=AUTH)
    assert status == 200 and json.loads(raw)["chatBarText"] == "メニュー"
    status, raw, _ = await checked_call(emu, "get", "/v2/bot/richmenu/list", headers=AUTH)
    assert [m["richMenuId"] for m in json.loads(raw)["richmenus"]] == [rid]
    status, _, _ = await checked_call(emu, "post", "/v2/bot/user/all/richmenu/{richMenuId}", path_params={"richMenuId": rid}, headers=AUTH)
    assert status == 200
    status, raw, _ = await checked_call(emu, "get", "/v2/bot/user/all/richmenu", headers=AUTH)
    assert json.loads(raw) == {"richMenuId": rid}
    status, _, _ = await checked_call(emu, "post", "/v2/bot/user/{userId}/richmenu/{richMenuId}", path_params={"userId": "U1", "richMenuId": rid}, headers=AUTH)
    assert status == 200
    status, raw, _ = await checked_call(emu, "get", "/v2/bot/user/{userId}/richmenu", path_params={"userId": "U1"}, headers=AUTH)
    assert json.loads(raw) == {"richMenuId": rid}
    status, _, _ = await checked_call(emu, "post", "/v2/bot/richmenu/alias", json_body={"richMenuAliasId": "demo-nor-ja", "richMenuId": rid}, headers=AUTH)
    assert status == 200
    status, _, _ = await checked_call(emu, "post", "/v2/bot/richmenu/alias", json_body={"richMenuAliasId": "demo-nor-ja", "richMenuId": rid}, headers=AUTH)
    assert status == 400  # exists
    status, raw, _ = await checked_call(emu, "get", "/v2/bot/richmenu/alias/{richMenuAliasId}", path_params={"richMenuAliasId": "demo-nor-ja"}, headers=AUTH)
    assert json.loads(raw)["richMenuId"] == rid
    other = await adapter.create("demo", rich_menu_json(DEFAULTS["disaster"], "disaster", "ja", "demo"))
    await adapter.upload_image("demo", other, render_image(DEFAULTS["disaster"], "disaster", "ja"), "image/png")
    batch = {"operations": [{"type": "link", "from": rid, "to": other}]}
    status, _, headers = await checked_call(emu, "post", "/v2/bot/richmenu/batch", json_body=batch, headers=AUTH)
    assert status == 202
    request_id = {k.lower(): v for k, v in headers.items()}["x-line-request-id"]
    status, raw, _ = await checked_call(emu, "get", "/v2/bot/richmenu/progress/batch", params={"requestId": request_id}, headers=AUTH)
    assert json.loads(raw)["phase"] == "succeeded"
    status, raw, _ = await checked_call(emu, "get", "/v2/bot/user/{userId}/richmenu", path_params={"userId": "U1"}, headers=AUTH)
    assert json.loads(raw) == {"richMenuId": other}
    status, _, _ = await checked_call(emu, "post", "/v2/bot/richmenu/bulk/link", json_body={"richMenuId": rid, "userIds": ["U2", "U3"]}, headers=AUTH)
    assert status == 202
    status, _, _ = await checked_call(emu, "delete", "/v2/bot/user/{userId}/richmenu", path_params={"userId": "U2"}, headers=AUTH)
    assert status == 200


async def test_lines_rules_are_enforced(emu, adapter):
    bad = dict(MENU, size={"width": 2500, "height": 2500})
    status, raw, _ = await checked_call(emu, "post", "/v2/bot/richmenu", json_body=bad, headers=AUTH)
    assert status == 400 and json.loads(raw)["details"][0]["property"] == "size"
    too_long = dict(MENU, chatBarText="とても長いチャットバーのテキストです")
    status, raw, _ = await checked_call(emu, "post", "/v2/bot/richmenu", json_body=too_long, headers=AUTH, invalid_request=True)
    assert status == 400 and json.loads(raw)["details"][0]["property"] == "chatBarText"
    outside = json.loads(json.dumps(MENU))
    outside["areas"][0]["bounds"]["x"] = 2400
    status, raw, _ = await checked_call(emu, "post", "/v2/bot/richmenu", json_body=outside, headers=AUTH)
    assert status == 400 and "bounds" in json.loads(raw)["details"][0]["property"]
    rid = await adapter.create("demo", MENU)
    half = render_image(DEFAULTS["normal"].model_copy(update={"size": "half"}), "normal", "ja")
    with pytest.raises(RichMenuError) as wrong_size:
        await adapter.upload_image("demo", rid, half, "image/png")
    assert wrong_size.value.status == 400
    with pytest.raises(RichMenuError) as too_big:
        await adapter.upload_image("demo", rid, b"\x89PNG" + b"0" * (1024 * 1024 + 1), "image/png")
    assert too_big.value.status == 413
    await adapter.upload_image("demo", rid, render_image(DEFAULTS["normal"], "normal", "ja"), "image/png")
    with pytest.raises(RichMenuError):  # LINE accepts one image per menu
        await adapter.upload_image("demo", rid, render_image(DEFAULTS["normal"], "normal", "ja"), "image/png")
    status, _, _ = await checked_call(emu, "post", "/v2/bot/user/all/richmenu/{richMenuId}", path_params={"richMenuId": "richmenu-" + "0" * 32}, headers=AUTH)
    assert status == 404


async def test_the_adapter_sets_aliases_twice_and_the_simulator_sees_the_users_menu(emu, adapter):
    image = render_image(DEFAULTS["normal"], "normal", "ja")
    first = await adapter.create("demo", MENU)
    await adapter.upload_image("demo", first, image, "image/png")
    second = await adapter.create("demo", MENU)
    await adapter.upload_image("demo", second, image, "image/png")
    await adapter.set_alias("demo", "demo-nor-ja", first)
    await adapter.set_alias("demo", "demo-nor-ja", second)  # exists: updated
    await adapter.set_default("demo", first)
    await adapter.link("demo", "U9", second)
    seen = await (await emu.get("/_emulator/richmenu", params={"tenant": "demo", "user": "U9"})).json()
    assert seen["menu"]["richMenuId"] == second
    other = await (await emu.get("/_emulator/richmenu", params={"tenant": "demo", "user": "U1"})).json()
    assert other["menu"]["richMenuId"] == first
    png = await (await emu.get(other["image"])).read()
    assert png == image
    await adapter.replace_linked("demo", {second: first})
    assert (await (await emu.get("/_emulator/richmenu", params={"tenant": "demo", "user": "U9"})).json())["menu"]["richMenuId"] == first
    await adapter.unlink("demo", "U9")
    await adapter.unlink("demo", "U9")  # nothing linked: still fine
    suita = await (await emu.get("/_emulator/richmenu", params={"tenant": "suita", "user": "U9"})).json()
    assert suita == {"menu": None}  # menus are per channel
    await adapter.delete("demo", first)
    await adapter.delete("demo", first)  # already gone: fine
    assert (await (await emu.get("/_emulator/richmenu", params={"tenant": "demo", "user": "U1"})).json()) == {"menu": None}
