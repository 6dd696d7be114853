"""The tenant's territory from the shared gazetteer (passed in by the composition root; this room never imports it).

Inside = the point's nearest 町丁目 belongs to the tenant's municipality (or one of its wards); a prefecture tenant
(lg_code 27000x) accepts every point the gazetteer resolves. The outline for the staff map is the convex hull of the
area's 町丁目 points: no boundary polygons ship with civicbot, and a hull is honest enough for a plot.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Protocol


class _Point(Protocol):
    @property
    def lat(self) -> float: ...

    @property
    def lng(self) -> float: ...


class _Unit(Protocol):
    @property
    def jis5(self) -> str: ...


class _Location(Protocol):
    @property
    def municipality(self) -> _Unit: ...

    @property
    def ward(self) -> _Unit | None: ...

    @property
    def label(self) -> str: ...


class Gazetteer(Protocol):
    def locate(self, lat: float, lng: float, *, max_distance_m: float = ...) -> _Location | None: ...
    def towns_of(self, code: str) -> Sequence[_Point]: ...


class GazetteerArea:
    def __init__(self, gazetteer: Gazetteer, tenant_codes: Mapping[str, str], max_distance_m: float = 1500.0) -> None:
        self._g = gazetteer
        self._codes = tenant_codes  # tenant -> jis5 of its municipality
        self._max = max_distance_m

    def place(self, tenant: str, lat: float, lng: float) -> str | None:
        loc = self._g.locate(lat, lng, max_distance_m=self._max)
        if loc is None:
            return None
        code = self._codes.get(tenant, "")
        if code.endswith("000") and code.startswith("27"):  # the prefecture itself
            return loc.label
        codes = {loc.municipality.jis5, *([loc.ward.jis5] if loc.ward is not None else [])}
        return loc.label if code in codes else None

    def outline(self, tenant: str) -> list[tuple[float, float]]:
        return _hull_for(self, tenant)

    def points(self, tenant: str) -> list[tuple[float, float]]:
        return [(p.lat, p.lng) for p in self._g.towns_of(self._codes.get(tenant, ""))]


@functools.lru_cache(maxsize=64)
def _hull_cached(points: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
    return tuple(convex_hull(list(points)))


def _hull_for(area: GazetteerArea, tenant: str) -> list[tuple[float, float]]:
    return list(_hull_cached(tuple(area.points(tenant))))


def convex_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Andrew's monotone chain over (lat, lng); returns the hull counter-clockwise."""
    pts = sorted(set(points), key=lambda p: (p[1], p[0]))
    if len(pts) <= 2:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[1] - o[1]) * (b[0] - o[0]) - (a[0] - o[0]) * (b[1] - o[1])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


class StaticArea:
    """Fake for tests: a lat/lng box per tenant; the outline is the box."""

    def __init__(self, boxes: Mapping[str, tuple[float, float, float, float]]) -> None:
        self.boxes = boxes  # tenant -> (south, west, north, east)

    def place(self, tenant: str, lat: float, lng: float) -> str | None:
        s, w, n, e = self.boxes.get(tenant, (0.0, 0.0, -1.0, -1.0))
        return f"{lat:.5f},{lng:.5f}" if s <= lat <= n and w <= lng <= e else None

    def outline(self, tenant: str) -> list[tuple[float, float]]:
        s, w, n, e = self.boxes.get(tenant, (0.0, 0.0, 0.0, 0.0))
        return [(s, w), (s, e), (n, e), (n, w)]
