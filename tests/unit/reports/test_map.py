"""The staff map: offline SVG fits the outline; with a tile URL the tiles under the box are listed and line up."""

from __future__ import annotations

import math

from reports.model import Report
from reports.web import svg_map

OUTLINE = [(34.60, 135.40), (34.60, 135.60), (34.78, 135.60), (34.78, 135.40)]


def _r(rid: str, lat: float, lng: float) -> Report:
    return Report(tenant="demo", id=rid, category="pothole", lat=lat, lng=lng, created_at=0.0, reporter="U")


def test_offline_map_puts_reports_inside_the_outline_and_north_up():
    m = svg_map(OUTLINE, [_r("R1", 34.69, 135.50), _r("R2", 34.77, 135.41)], size=500)
    assert m["tiles"] == []
    (x1, y1), (x2, y2) = ((d["x"], d["y"]) for d in m["dots"])
    xs = [float(p.split(",")[0]) for p in m["outline"].split()]
    ys = [float(p.split(",")[1]) for p in m["outline"].split()]
    assert min(xs) <= x1 <= max(xs) and min(ys) <= y1 <= max(ys)
    assert y2 < y1 and x2 < x1  # further north = higher up, further west = more left
    assert 0 <= min(xs) and max(xs) <= 500 and 0 <= min(ys) and max(ys) <= 500


def test_tiles_cover_the_box_and_use_the_template():
    m = svg_map(OUTLINE, [_r("R1", 34.69, 135.50)], size=560, tile_url="https://tiles.example/{z}/{x}/{y}.png")
    assert m["tiles"]
    z = int(m["tiles"][0]["href"].split("/")[3])
    assert 9 <= z <= 12  # ≈ 20 km across 560 px
    xs = sorted({t["x"] for t in m["tiles"]})
    assert xs[0] <= 0 and xs[-1] + 256 >= 560  # the whole box is covered
    # the tile containing 大阪市役所 at this zoom is drawn where the dot is
    dot = m["dots"][0]
    under = [t for t in m["tiles"] if t["x"] <= dot["x"] < t["x"] + 256 and t["y"] <= dot["y"] < t["y"] + 256]
    lat = math.radians(34.69)
    tx = int((135.50 + 180) / 360 * 2**z)
    ty = int((1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2 * 2**z)
    assert len(under) == 1 and under[0]["href"] == f"https://tiles.example/{z}/{tx}/{ty}.png"
