"""Menu layouts from the tenants file, LINE's image rules, and the catalogue covering every language."""

from __future__ import annotations

import io

import pytest
from linebot.v3.messaging import RichMenuRequest
from PIL import Image

from disaster.menus import (
    DEFAULTS,
    MAX_IMAGE_BYTES,
    SIZES,
    MenuError,
    fingerprint,
    grid,
    menu_specs,
    render_image,
    rich_menu_json,
)
from disaster.texts import CATALOGUE, LANGS
from emulator.richmenu import check_menu


@pytest.mark.parametrize("mode", ["normal", "disaster"])
@pytest.mark.parametrize("lang", ["ja", "vi"])
def test_images_have_lines_size_and_weight(mode, lang):
    data = render_image(DEFAULTS[mode], mode, lang)
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == SIZES["full"] and img.format == "PNG"
    assert len(data) <= MAX_IMAGE_BYTES


@pytest.mark.parametrize("mode", ["normal", "disaster"])
def test_menu_json_passes_the_sdk_and_lines_rules(mode):
    for lang in LANGS:
        body = rich_menu_json(DEFAULTS[mode], mode, lang, "demo")
        RichMenuRequest.from_dict(body)
        assert check_menu(body) == []
        assert all(len(a["action"]["label"]) <= 20 for a in body["areas"])


def test_grid_covers_the_image_without_overlap():
    spec = DEFAULTS["disaster"]  # 5 areas: 3 + 2
    cells = grid(spec)
    w, h = SIZES[spec.size]
    assert sum(c.width * c.height for c in cells) == w * h
    assert [c.width for c in cells[3:]] == [1250, 1250]


def test_a_tenant_overrides_a_menu_and_a_bad_block_fails_at_start():
    custom = {"normal": {"size": "half", "columns": 2, "areas": [
        {"key": "faq", "message": "send.faq"},
        {"key": "report", "labels": {"ja": "道路の損傷を通報", "en": "Report road damage"}, "postback": "room=reports&action=start"},
    ]}}
    specs = menu_specs(custom)
    assert specs["disaster"] == DEFAULTS["disaster"] and specs["normal"].size == "half"
    body = rich_menu_json(specs["normal"], "normal", "en", "demo")
    assert body["size"] == {"width": 2500, "height": 843} and body["areas"][1]["action"]["label"] == "Report road damage"
    assert fingerprint(specs, ["ja"]) != fingerprint(menu_specs(None), ["ja"])
    with pytest.raises(MenuError):
        menu_specs({"normal": {"areas": [{"key": "x", "message": "a", "postback": "b"}]}})


def test_every_language_has_every_text():
    keys = set(CATALOGUE["ja"])
    for lang in LANGS:
        assert set(CATALOGUE[lang]) == keys, (lang, keys ^ set(CATALOGUE[lang]))
