"""GSI 指定緊急避難場所 CSV import and the nearest-sites query.

The CSV layout is the one every municipality's file on hinanmap.gsi.go.jp has: NO, 共通ID, 施設・場所名, 住所, one
column per hazard (``1`` = designated), 指定避難所との住所同一, 緯度, 経度, 備考. UTF-8 (BOM ok) or Shift_JIS. A bad row
is reported with its line number and skipped; good rows are kept.

``ShelterIndex`` answers "nearest sites designated for these hazards": sites sit in ~1 km grid cells, a query looks
at the rings of cells within the radius only, so it never scans every site of the prefecture (bench/shelters.py).
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from disaster.model import GSI_HAZARD_COLUMNS, MAX_RADIUS_M, STATUS_RANK, Nearby, OpenStatus, Shelter

EARTH_M = 6_371_008.8
REQUIRED = ("共通ID", "施設・場所名", "緯度", "経度")
MAX_BYTES = 20 * 1024 * 1024
CELL_DEG = 0.01  # ≈ 1.1 km north-south, ≈ 0.9 km east-west at Osaka's latitude


class ShelterCsvError(ValueError):
    """The file as a whole cannot be read (encoding, header)."""


@dataclass
class ImportResult:
    shelters: list[Shelter] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message in Japanese)


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ShelterCsvError(f"ファイルが大きすぎます（{MAX_BYTES // 1024 // 1024}MB まで）")
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ShelterCsvError("文字コードを読み取れません（UTF-8 か Shift_JIS で保存してください）")


def _header_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().replace(" ", "").replace(",", "、")


_HAZARD_KEYS = {_header_key(k): v for k, v in GSI_HAZARD_COLUMNS.items()}


def parse_csv(data: bytes) -> ImportResult:
    text = decode(data)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise ShelterCsvError("空のファイルです") from exc
    keys = [_header_key(h) for h in header]
    missing = [r for r in REQUIRED if r not in keys]
    if missing:
        raise ShelterCsvError(
            f"必要な列がありません：{'、'.join(missing)}（国土地理院の指定緊急避難場所データの形式で保存してください）"
        )
    hazard_cols = {i: _HAZARD_KEYS[k] for i, k in enumerate(keys) if k in _HAZARD_KEYS}
    if not hazard_cols:
        raise ShelterCsvError("災害種別の列（洪水、地震、津波 など）がありません")
    col = {k: i for i, k in enumerate(keys)}
    result = ImportResult()
    seen: set[str] = set()
    for line_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return unicodedata.normalize("NFKC", row[i]).strip() if i is not None else ""

        sid, name = cell("共通ID"), cell("施設・場所名")
        if not sid:
            result.errors.append((line_no, "共通IDが空です"))
            continue
        if sid in seen:
            result.errors.append((line_no, f"共通ID {sid} が重複しています"))
            continue
        if not name:
            result.errors.append((line_no, "施設・場所名が空です"))
            continue
        try:
            lat, lng = float(cell("緯度")), float(cell("経度"))
        except ValueError:
            result.errors.append((line_no, f"緯度・経度が数値ではありません（{cell('緯度')!r}, {cell('経度')!r}）"))
            continue
        if not (20.0 <= lat <= 46.0 and 122.0 <= lng <= 154.0):
            result.errors.append((line_no, f"緯度・経度が日本の範囲外です（{lat}, {lng}）"))
            continue
        hazards: set[str] = set()
        bad = ""
        for i, hazard in hazard_cols.items():
            value = unicodedata.normalize("NFKC", row[i]).strip()
            if value == "1":
                hazards.add(hazard)
            elif value not in ("", "0"):
                bad = f"{header[i]} の値 {value!r} は 1 か空欄にしてください"
        if bad:
            result.errors.append((line_no, bad))
            continue
        seen.add(sid)
        result.shelters.append(
            Shelter(id=sid, name=name, address=cell("住所"), lat=lat, lng=lng, hazards=frozenset(hazards), note=cell("備考"))
        )
    return result


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine), metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def _cell(lat: float, lng: float) -> tuple[int, int]:
    return math.floor(lat / CELL_DEG), math.floor(lng / CELL_DEG)


class ShelterIndex:
    """Sites of one tenant in grid cells, per hazard. Immutable; rebuild when the sites change."""

    def __init__(self, shelters: Iterable[Shelter]) -> None:
        self.shelters = list(shelters)
        self._cells: dict[tuple[int, int], list[Shelter]] = {}
        for s in self.shelters:
            self._cells.setdefault(_cell(s.lat, s.lng), []).append(s)

    def __len__(self) -> int:
        return len(self.shelters)

    def nearest(
        self,
        lat: float,
        lng: float,
        hazards: tuple[str, ...],
        *,
        limit: int = 5,
        radius_m: float = MAX_RADIUS_M,
        statuses: Mapping[str, OpenStatus] | None = None,
    ) -> list[Nearby]:
        """Sites within ``radius_m`` designated for every hazard in ``hazards`` (none when ``hazards`` is empty),
        open sites first (開設, 混雑, unknown, 満員, 閉鎖), then by distance."""
        if not hazards:
            return []
        statuses = statuses or {}
        dlat = radius_m / 111_000.0
        dlng = radius_m / (111_000.0 * max(0.1, math.cos(math.radians(lat))))
        (r0, c0), (r1, c1) = _cell(lat - dlat, lng - dlng), _cell(lat + dlat, lng + dlng)
        found: list[Nearby] = []
        need = frozenset(hazards)
        kx = 111_320.0 * math.cos(math.radians(lat))  # equirectangular pre-check, then the exact distance
        r2 = (radius_m * 1.01) ** 2
        cells = self._cells
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                for s in cells.get((r, c), ()):
                    if not need <= s.hazards:
                        continue
                    dy, dx = (s.lat - lat) * 110_950.0, (s.lng - lng) * kx
                    if dx * dx + dy * dy > r2:
                        continue
                    d = distance_m(lat, lng, s.lat, s.lng)
                    if d <= radius_m:
                        found.append(Nearby(s, d, statuses.get(s.id)))
        found.sort(key=lambda n: (STATUS_RANK[n.status.status if n.status else ""], n.distance_m))
        return found[:limit]


def nearest_brute_force(
    shelters: list[Shelter], lat: float, lng: float, hazards: tuple[str, ...], *, limit: int = 5, radius_m: float = MAX_RADIUS_M
) -> list[Nearby]:
    """The plain scan over every site: the bench's baseline and the tests' oracle."""
    out = [Nearby(s, d) for s in shelters if s.designated_for(hazards) and (d := distance_m(lat, lng, s.lat, s.lng)) <= radius_m]
    out.sort(key=lambda n: n.distance_m)
    return out[:limit]
