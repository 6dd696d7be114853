"""The one municipality table: Osaka Prefecture's 43 市町村 and 大阪市/堺市's 31 区 (``bot/data/osaka_municipalities.csv``).

Columns: name, full_name, jis5, jis6 (全国地方公共団体コード), jma_code, kind (市/区/町/村), parent (the city a ward
belongs to, by name), lat/lng (mean of the 町丁目 representative points), n_towns, jma_seismic_area, name_en. Alerts
(targeting, the place chooser), notices, the KPI dashboard and the NLU's municipality resolver read it from here;
sources and licence (Geolonia 住所データ, CC BY 4.0) in ``bot/data/ATTRIBUTION.md``. Standard library only: the Rasa
venv (Python 3.10) imports it too.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

MUNICIPALITIES_CSV = Path(__file__).resolve().parent / "data" / "osaka_municipalities.csv"


@functools.cache
def rows(path: Path = MUNICIPALITIES_CSV) -> tuple[dict[str, str], ...]:
    """Every row as read (strings), in file order (cities before their wards)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def parent_codes(table: tuple[dict[str, str], ...] | None = None) -> dict[str, str]:
    """Ward jis5 → its city's jis5."""
    table = rows() if table is None else table
    by_name = {r["name"]: r["jis5"] for r in table}
    return {r["jis5"]: by_name[r["parent"]] for r in table if r["parent"]}
