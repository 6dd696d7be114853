"""Server-side SVG charts: no JavaScript, no CDN, readable on a phone (they scale with ``viewBox``).

Each chart takes published ``Cell``s only, so a chart can never draw an exact count the page would not print.
Hidden cells (「5未満」/「秘匿」) are drawn as hatched stubs; every mark carries a ``<title>`` with the value as text
(screen readers and long-press on phones).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from kpi.aggregate import Cell
from kpi.geo import Tile

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
BLUE = "#1d4ed8"
PALETTE = ("#eff6ff", "#bfdbfe", "#60a5fa", "#2563eb", "#1e3a8a")

_DEFS = (
    '<defs><pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#f3f4f6"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9ca3af" stroke-width="2"/></pattern></defs>'
)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 5.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _fmt(v: float) -> str:
    if v >= 10_000:
        return f"{v / 1000:.0f}k"
    if v != int(v):
        return f"{v:.1f}"
    return f"{v:,.0f}"


def _svg(width: int, height: int, label: str, body: list[str], pattern_id: str) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'class="chart" preserveAspectRatio="xMidYMid meet">'
    )
    return Markup(head + _DEFS.format(id=pattern_id) + "".join(body) + "</svg>")


def _grid(ymax: float, x0: float, x1: float, top: float, plot_h: float) -> list[str]:
    """Horizontal grid lines at quarters, labels at 0, half and top (always round numbers: ymax is 1/2/5 × 10^k)."""
    out = []
    for i in range(5):
        v = ymax * i / 4
        y = top + plot_h - plot_h * v / ymax
        out.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        if i % 2 == 0:
            out.append(f'<text x="{x0 - 5}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="{MUTED}">{_fmt(v)}</text>')
    return out


def _hidden(c: Cell) -> bool:
    """Drawn hatched: 「5未満」, 「秘匿」, or a sum made only of those (nothing publishable in it)."""
    return c.state in ("lt5", "withheld") or (c.state == "partial" and c.value == 0)


def _anchor(i: int, n: int) -> str:
    return "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"


def _date_label(d: dt.date, lang: str, long: bool = False) -> str:
    return f"{d.year}/{d.month}/{d.day}" if long else f"{d.month}/{d.day}"


def time_bars(days: Sequence[dt.date], cells: Sequence[Cell | None], *, label: str, lang: str = "ja", chart_id: str = "c") -> Markup:
    """One bar per day; hidden days as hatched stubs at the height of 5."""
    width, height, left, right, top, bottom = 400, 180, 40, 6, 10, 24
    pid = f"h-{chart_id}"
    values = [c.value if c is not None and c.state in ("exact", "partial") else 0 for c in cells]
    ymax = _nice_max(max(values + [5]))
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(days))
    step = plot_w / n
    bar_w = max(1.0, step * 0.8)
    body: list[str] = []
    body.extend(_grid(ymax, left, width - right, top, plot_h))
    for i, (d, c) in enumerate(zip(days, cells, strict=True)):
        if c is None:
            continue
        x = left + i * step + (step - bar_w) / 2
        hidden = _hidden(c)
        v = 5 if hidden else c.value
        h = plot_h * v / ymax
        fill = f"url(#{pid})" if hidden else BLUE
        title = f"{d.isoformat()}: {c.text(lang)}"
        body.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{max(h, 0.5):.1f}" fill="{fill}">'
            f"<title>{escape(title)}</title></rect>"
        )
    ticks = sorted({0, n // 2, n - 1}) if n > 2 else list(range(n))
    for i in ticks:
        if i < len(days):
            x = left + i * step + step / 2
            body.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="{_anchor(i, n)}" font-size="12" fill="{MUTED}">{_date_label(days[i], lang, len(days) > 90)}</text>')
    return _svg(width, height, label, body, pid)


def time_line(days: Sequence[dt.date], cells: Sequence[Cell | None], *, label: str, lang: str = "ja", chart_id: str = "l") -> Markup:
    """A line through the published points (days without a snapshot are gaps; hidden points are hollow marks on 0)."""
    width, height, left, right, top, bottom = 400, 160, 40, 10, 10, 24
    pid = f"h-{chart_id}"
    points = [(i, c) for i, c in enumerate(cells) if c is not None]
    values = [c.value for _, c in points if c.state in ("exact", "partial")]
    ymax = _nice_max(max(values + [5]))
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(2, len(days))
    body: list[str] = []
    body.extend(_grid(ymax, left, width - right, top, plot_h))

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + plot_w * i / (n - 1), top + plot_h - plot_h * v / ymax

    path: list[str] = []
    for i, c in points:
        if c.state in ("exact", "partial"):
            x, y = xy(i, c.value)
            path.append(f"{'M' if not path else 'L'}{x:.1f},{y:.1f}")
    if path:
        body.append(f'<path d="{" ".join(path)}" fill="none" stroke="{BLUE}" stroke-width="2.5" stroke-linejoin="round"/>')
    for i, c in points:
        shown = c.state in ("exact", "partial")
        x, y = xy(i, c.value if shown else 0)
        fill = BLUE if shown else "#fff"
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{3 if len(points) < 60 else 1.5}" fill="{fill}" stroke="{BLUE}">'
            f"<title>{escape(days[i].isoformat() + ': ' + c.text(lang))}</title></circle>"
        )
    ticks = sorted({0, len(days) // 2, len(days) - 1}) if len(days) > 2 else list(range(len(days)))
    for i in ticks:
        x, _ = xy(i, 0)
        body.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="{_anchor(i, len(days))}" font-size="12" fill="{MUTED}">{_date_label(days[i], lang, len(days) > 90)}</text>')
    return _svg(width, height, label, body, pid)


def hbars(items: Sequence[tuple[str, Cell]], *, label: str, lang: str = "ja", chart_id: str = "b") -> Markup:
    """Horizontal bars with the value printed at the end — the most legible chart for categories on a phone."""
    pid = f"h-{chart_id}"
    row_h, left, right, top = 26, 132, 70, 4
    width = 400
    height = top * 2 + row_h * max(1, len(items))
    values = [c.value for _, c in items if c.state in ("exact", "partial")]
    vmax = max(values + [5])
    plot_w = width - left - right
    body: list[str] = []
    for i, (name, c) in enumerate(items):
        y = top + i * row_h
        hidden = _hidden(c)
        v = min(5, vmax) if hidden else c.value
        w = max(2.0, plot_w * v / vmax)
        fill = f"url(#{pid})" if hidden else BLUE
        text = c.text(lang)
        short = name if len(name) <= (20 if lang == "en" else 10) else name[: (19 if lang == "en" else 9)] + "…"
        body.append(f'<text x="{left - 8}" y="{y + row_h / 2 + 5:.1f}" text-anchor="end" font-size="12" fill="{INK}">{escape(short)}</text>')
        body.append(f'<rect x="{left}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" rx="2" fill="{fill}"><title>{escape(name + ": " + text)}</title></rect>')
        body.append(f'<text x="{left + w + 6:.1f}" y="{y + row_h / 2 + 5:.1f}" font-size="12" fill="{INK}">{escape(text)}</text>')
    return _svg(width, height, label, body, pid)


def tile_map(tiles: Sequence[Tile], cells: dict[str, Cell], *, label: str, lang: str = "ja", chart_id: str = "m") -> Markup:
    """A tile grid of municipalities coloured by quantile class; hidden tiles hatched; no data = outline only."""
    pid = f"h-{chart_id}"
    size, gap, pad = 58, 4, 4
    cols = max(t.col for t in tiles) + 1
    rows = max(t.row for t in tiles) + 1
    used_cols = sorted({t.col for t in tiles})
    c0 = used_cols[0]
    width = pad * 2 + (cols - c0) * (size + gap)
    height = pad * 2 + rows * (size + gap) + 30
    shown = sorted(c.value for c in cells.values() if c.state in ("exact", "partial") and c.value > 0)
    breaks = [shown[int(len(shown) * q)] for q in (0.2, 0.4, 0.6, 0.8)] if shown else []

    def colour(v: int) -> str:
        return PALETTE[sum(1 for b in breaks if v >= b)]

    body: list[str] = []
    for t in tiles:
        x = pad + (t.col - c0) * (size + gap)
        y = pad + t.row * (size + gap)
        c = cells.get(t.place.jis5)
        name = t.place.short_en if lang == "en" else t.place.short
        full = t.place.name_en if lang == "en" else t.place.name
        if c is None:  # no channel reports this municipality: outline only
            fill, text, value_text = "#fff", MUTED, ""
        elif c.state in ("lt5", "withheld") or (c.state == "partial" and c.value == 0):
            fill, text, value_text = f"url(#{pid})", INK, c.text(lang)
        else:
            fill = colour(c.value)
            text = "#fff" if fill in PALETTE[3:] else INK
            value_text = c.text(lang)
        fs = 16 if len(name) <= 3 else 12
        if lang == "en":
            fs = 11 if len(name) <= 7 else 8
        body.append(
            f'<g><rect x="{x}" y="{y}" width="{size}" height="{size}" rx="4" fill="{fill}" stroke="#94a3b8"/>'
            f'<text x="{x + size / 2}" y="{y + 24}" text-anchor="middle" font-size="{fs}" fill="{text}">{escape(name)}</text>'
            f'<text x="{x + size / 2}" y="{y + 46}" text-anchor="middle" font-size="12" fill="{text}">{escape(value_text)}</text>'
            f"<title>{escape(full + ': ' + value_text)}</title></g>"
        )
    ly = height - 22
    body.append(f'<text x="{pad}" y="{ly + 14}" font-size="14" fill="{MUTED}">{"fewer" if lang == "en" else "少"}</text>')
    lx = pad + (40 if lang == "en" else 18)
    for i, col in enumerate(PALETTE):
        body.append(f'<rect x="{lx + i * 30}" y="{ly}" width="28" height="18" fill="{col}" stroke="#94a3b8"/>')
    lx += 5 * 30 + 4
    body.append(f'<text x="{lx}" y="{ly + 14}" font-size="14" fill="{MUTED}">{"more" if lang == "en" else "多"}</text>')
    lx += 44 if lang == "en" else 28
    body.append(f'<rect x="{lx}" y="{ly}" width="28" height="18" fill="url(#{pid})" stroke="#94a3b8"/>')
    body.append(f'<text x="{lx + 34}" y="{ly + 14}" font-size="14" fill="{MUTED}">{"<5 / withheld" if lang == "en" else "5未満・秘匿"}</text>')
    return _svg(width, height, label, body, pid)
