"""Rich menu layouts (data, from the tenants file or the defaults below), their LINE JSON and their images.

A tenant may override either menu in the tenants file (``rich_menus: {normal: …, disaster: …}``); each area names a
label (catalogue key ``area.<key>`` or per-language ``labels``) and one action the router already handles: a
``postback`` (``room=…&action=…``) or a ``message`` (catalogue key ``send.<key>`` or literal text). Areas flow into a
grid of ``columns``; the last row's areas share its width. Images are drawn with Pillow and Noto Sans CJK (Debian
``fonts-noto-cjk``) at LINE's 2500×1686 (full) or 2500×843 (half), PNG, ≤ 1 MB.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel, Field, model_validator

from disaster.model import MODES, Mode
from disaster.texts import t

FONT_PATHS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
SIZES = {"full": (2500, 1686), "half": (2500, 843)}
MAX_IMAGE_BYTES = 1024 * 1024
RENDER_VERSION = "1"
THEMES = {
    "normal": {"bg": (246, 248, 246), "cell": (255, 255, 255), "edge": (6, 199, 85), "ink": (34, 34, 34), "band": (6, 199, 85)},
    "disaster": {"bg": (60, 12, 12), "cell": (255, 244, 230), "edge": (214, 40, 40), "ink": (120, 10, 10), "band": (214, 40, 40)},
}


class MenuError(ValueError):
    pass


class AreaSpec(BaseModel):
    key: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    labels: dict[str, str] = Field(default_factory=dict)  # language -> label (default: catalogue area.<key>)
    postback: str | None = Field(default=None, max_length=300)
    message: str | None = Field(default=None, max_length=300)  # catalogue key send.<key> or literal text

    @model_validator(mode="after")
    def _one_action(self) -> AreaSpec:
        if (self.postback is None) == (self.message is None):
            raise ValueError(f"area {self.key!r}: give exactly one of postback / message")
        return self


class MenuSpec(BaseModel):
    size: Literal["full", "half"] = "full"
    columns: int = Field(default=3, ge=1, le=4)
    areas: list[AreaSpec] = Field(min_length=1, max_length=20)


class RichMenusConfig(BaseModel):
    normal: MenuSpec | None = None
    disaster: MenuSpec | None = None


DEFAULTS: dict[str, MenuSpec] = {
    "normal": MenuSpec(
        areas=[
            AreaSpec(key="faq", message="send.faq"),
            AreaSpec(key="consult", message="send.consult"),
            AreaSpec(key="alerts", postback="room=alerts&action=menu"),
            AreaSpec(key="garbage", message="send.garbage"),
            AreaSpec(key="report", postback="room=reports&action=start"),
            AreaSpec(key="language", postback="room=alerts&action=lang"),
        ]
    ),
    "disaster": MenuSpec(
        areas=[
            AreaSpec(key="shelters", postback="room=disaster&action=find"),
            AreaSpec(key="info", postback="room=disaster&action=info"),
            AreaSpec(key="safety", postback="room=disaster&action=safety"),
            AreaSpec(key="consult", message="send.consult"),
            AreaSpec(key="back", postback="room=disaster&action=back"),
        ]
    ),
}


def menu_specs(raw: dict[str, Any] | None) -> dict[str, MenuSpec]:
    """The tenant's ``rich_menus`` block over the defaults (invalid blocks raise ``MenuError`` at start)."""
    try:
        cfg = RichMenusConfig.model_validate(raw or {})
    except ValueError as exc:
        raise MenuError(f"invalid rich_menus: {exc}") from exc
    return {"normal": cfg.normal or DEFAULTS["normal"], "disaster": cfg.disaster or DEFAULTS["disaster"]}


@dataclass(frozen=True)
class Cell:
    x: int
    y: int
    width: int
    height: int


def grid(spec: MenuSpec) -> list[Cell]:
    w, h = SIZES[spec.size]
    n, cols = len(spec.areas), spec.columns
    rows = -(-n // cols)
    cells: list[Cell] = []
    for r in range(rows):
        in_row = min(cols, n - r * cols)
        y0, y1 = h * r // rows, h * (r + 1) // rows
        for c in range(in_row):
            x0, x1 = w * c // in_row, w * (c + 1) // in_row
            cells.append(Cell(x0, y0, x1 - x0, y1 - y0))
    return cells


def label(area: AreaSpec, lang: str) -> str:
    return area.labels.get(lang) or area.labels.get("ja") or t(f"area.{area.key}", lang)


def action(area: AreaSpec, lang: str) -> dict[str, Any]:
    text = label(area, lang)
    if area.postback is not None:
        return {"type": "postback", "data": area.postback, "displayText": text[:300], "label": text[:20]}
    message = area.message or ""
    try:
        message = t(message, lang) if message.startswith("send.") else message
    except KeyError:
        pass
    return {"type": "message", "text": message, "label": text[:20]}


def rich_menu_json(spec: MenuSpec, mode: Mode, lang: str, tenant: str) -> dict[str, Any]:
    """The RichMenuRequest body LINE expects (validated by line-bot-sdk's model when sent)."""
    w, h = SIZES[spec.size]
    return {
        "size": {"width": w, "height": h},
        "selected": mode == "disaster",  # the disaster menu opens by itself; the normal one stays folded
        "name": f"civicbot {tenant} {mode} {lang}"[:300],
        "chatBarText": t(f"bar.{mode}", lang)[:14],
        "areas": [
            {"bounds": {"x": c.x, "y": c.y, "width": c.width, "height": c.height}, "action": action(a, lang)}
            for a, c in zip(spec.areas, grid(spec))
        ],
    }


def fingerprint(specs: dict[str, MenuSpec], languages: list[str]) -> str:
    raw = json.dumps({m: specs[m].model_dump() for m in MODES} | {"langs": languages, "v": RENDER_VERSION}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONT_PATHS:
        if path.exists():
            return ImageFont.truetype(str(path), size=size, index=0)
    raise MenuError("Noto Sans CJK is missing: apt-get install fonts-noto-cjk")


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break at spaces / slashes where the language has them, else between characters."""
    lines: list[str] = []
    for para in text.split("\n"):
        words = para.split(" ") if " " in para else list(para)
        sep = " " if " " in para else ""
        line = ""
        for word in words:
            probe = f"{line}{sep}{word}" if line else word
            if draw.textlength(probe, font=font) <= width or not line:
                line = probe
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def render_image(spec: MenuSpec, mode: Mode, lang: str) -> bytes:
    """The menu image: one framed tile per area with its label, LINE's size, PNG ≤ 1 MB (cached per layout)."""
    return _render(spec.model_dump_json(), mode, lang)


@functools.lru_cache(maxsize=128)
def _render(spec_json: str, mode: Mode, lang: str) -> bytes:
    spec = MenuSpec.model_validate_json(spec_json)
    w, h = SIZES[spec.size]
    theme = THEMES[mode]
    img = Image.new("RGB", (w, h), theme["bg"])
    draw = ImageDraw.Draw(img)
    pad = 18
    for area, cell in zip(spec.areas, grid(spec)):
        box = (cell.x + pad, cell.y + pad, cell.x + cell.width - pad, cell.y + cell.height - pad)
        draw.rounded_rectangle(box, radius=40, fill=theme["cell"], outline=theme["edge"], width=10)
        inner_w = cell.width - 6 * pad
        size = 120 if cell.height > 600 else 90
        text = label(area, lang)
        while True:
            font = _font(size)
            lines = _wrap(draw, text, font, inner_w)
            line_h = int(size * 1.3)
            if (
                len(lines) * line_h <= cell.height - 6 * pad and all(draw.textlength(x, font=font) <= inner_w for x in lines)
            ) or size <= 40:
                break
            size -= 8
        top = cell.y + (cell.height - len(lines) * line_h) // 2
        for i, line in enumerate(lines):
            lw = draw.textlength(line, font=font)
            draw.text((cell.x + (cell.width - lw) / 2, top + i * line_h), line, font=font, fill=theme["ink"])
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=1)
    data = out.getvalue()
    if len(data) > MAX_IMAGE_BYTES:  # flat tiles stay far below; JPEG is LINE's other accepted format
        out = io.BytesIO()
        img.save(out, format="JPEG", quality=85)
        data = out.getvalue()
    return data


def content_type(image: bytes) -> str:
    return "image/png" if image[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
