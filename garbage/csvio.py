"""Read and write a tenant's garbage data in the 5374.jp layout (a directory of CSV files).

Files come from city staff's spreadsheets: UTF-8 (with or without BOM) or Shift_JIS/CP932, columns found by header
name. Parsing checks every row and reports each problem with its file and line number; an import with any error is
refused as a whole, so a re-import either replaces the tenant's data completely or changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from garbage.model import ACTIONS, ALL, Area, CalendarException, Category, Center, Dataset, Item

REQUIRED_FILES = ("area_days.csv", "target.csv", "description.csv")
OPTIONAL_FILES = ("center.csv", "calendar_exceptions.csv", "remarks.csv")
FILES = REQUIRED_FILES + OPTIONAL_FILES
MAX_BYTES = 5 * 1024 * 1024
_FORMULA = ("=", "+", "-", "@")
_DAY = re.compile(r"^(?:[日月火水木金土][1-5]?|\d{8})$")
WEEKDAYS = "月火水木金土日"  # Monday first, as datetime.weekday()


class GarbageImportError(ValueError):
    """The files cannot be imported; ``errors`` says where and why (for staff)."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class RowError:
    file: str
    line: int  # 1-based line in the file (the header is line 1); 0 = the file as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.file} {self.line}行目: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass
class _Reader:
    errors: list[RowError] = field(default_factory=list)

    def error(self, file: str, line: int, message: str) -> None:
        self.errors.append(RowError(file, line, message))

    def rows(self, file: str, data: bytes, required: tuple[str, ...]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
        text = decode(data)
        if text is None:
            self.error(file, 0, "文字コードを判別できません（UTF-8 か Shift_JIS で保存してください）")
            return [], []
        reader = csv.reader(io.StringIO(text))
        try:
            header = [_clean(h) for h in next(reader)]
        except StopIteration:
            self.error(file, 0, "空のファイルです")
            return [], []
        missing = [r for r in required if r not in header]
        if missing:
            self.error(file, 1, f"見出しに {'、'.join(missing)} がありません")
            return header, []
        out: list[tuple[int, dict[str, str]]] = []
        try:
            for row in reader:
                line = reader.line_num
                if not any(c.strip() for c in row):
                    continue
                if len(row) > len(header):
                    self.error(file, line, f"列が多すぎます（見出しは{len(header)}列、この行は{len(row)}列）")
                    continue
                out.append((line, {h: _cell(row[i]) if i < len(row) else "" for i, h in enumerate(header)}))
        except csv.Error as exc:
            self.error(file, reader.line_num, f"CSV として読めません（{exc}）")
        return header, out


def decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:  # CP932 maps the wave dash to FULLWIDTH TILDE (the well-known 〜 quirk): give it back
        return data.decode("cp932").replace("\uff5e", "\u301c")
    except UnicodeDecodeError:
        return None


def _clean(header: str) -> str:
    return unicodedata.normalize("NFKC", header).strip()


def _cell(value: str) -> str:
    value = value.strip()
    if value[:1] == "'" and value[1:2] in _FORMULA:  # written by ``to_files`` to keep spreadsheets from running it
        value = value[1:]
    return value


def parse_date(raw: str) -> dt.date | None:
    raw = unicodedata.normalize("NFKC", raw).strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


def rule_problem(rule: str) -> str | None:
    """Why a day rule of area_days.csv is invalid (None when it is fine)."""
    rule = unicodedata.normalize("NFKC", rule).strip()
    if not rule:
        return None
    days, _, months = rule.partition(":")
    for token in days.split():
        if not _DAY.match(token):
            return f"曜日の書き方が正しくありません: {token}（例: 月 木 / 水2 水4 / 20270104）"
        if token.isdigit() and parse_date(token) is None:
            return f"日付が正しくありません: {token}"
    for m in months.split():
        if not m.isdigit() or not 1 <= int(m) <= 12:
            return f"月の指定が正しくありません: {m}"
    return None


def parse_files(files: Mapping[str, bytes]) -> Dataset:
    """Files by name (area_days.csv …) → Dataset; raises GarbageImportError listing every problem."""
    r = _Reader()
    for name in REQUIRED_FILES:
        if name not in files:
            r.error(name, 0, "ファイルがありません")
    for name, data in files.items():
        if len(data) > MAX_BYTES:
            r.error(name, 0, f"ファイルが大きすぎます（{MAX_BYTES // 1024 // 1024} MB まで）")
    if r.errors:
        raise GarbageImportError(r.errors)

    categories: list[Category] = []
    _, rows = r.rows("description.csv", files["description.csv"], ("label",))
    for line, row in rows:
        if not row.get("label"):
            r.error("description.csv", line, "label が空です")
        elif any(c.label == row["label"] for c in categories):
            r.error("description.csv", line, f"label「{row['label']}」が重複しています")
        else:
            categories.append(
                Category(
                    row["label"],
                    row.get("sublabel", ""),
                    row.get("description", ""),
                    row.get("styles", ""),
                    row.get("bgcolor", ""),
                    row.get("url", ""),
                )
            )
    labels = {c.label for c in categories}

    items: list[Item] = []
    seen_items: set[tuple[str, str]] = set()
    _, rows = r.rows("target.csv", files["target.csv"], ("type", "name"))
    for line, row in rows:
        if not row.get("name"):
            r.error("target.csv", line, "name（品目名）が空です")
        elif row.get("type") not in labels:
            r.error("target.csv", line, f"type「{row.get('type', '')}」は description.csv にない分別区分です")
        elif (row["type"], row["name"]) in seen_items:
            r.error("target.csv", line, f"「{row['name']}」が重複しています")
        else:
            seen_items.add((row["type"], row["name"]))
            items.append(Item(row["type"], row["name"], row.get("notice", ""), row.get("furigana", ""), row.get("name_en", "")))

    centers: list[Center] = []
    if "center.csv" in files:
        _, rows = r.rows("center.csv", files["center.csv"], ("名称", "休止開始日", "休止終了日"))
        for line, row in rows:
            start, end = parse_date(row["休止開始日"]), parse_date(row["休止終了日"])
            if not row["名称"]:
                r.error("center.csv", line, "名称が空です")
            elif start is None or end is None:
                r.error("center.csv", line, "休止開始日・休止終了日は 2026/12/31 の形で書いてください")
            elif end < start:
                r.error("center.csv", line, "休止終了日が休止開始日より前です")
            else:
                centers.append(Center(row["名称"], start.isoformat(), end.isoformat()))
    center_names = {c.name for c in centers}

    areas: list[Area] = []
    header, rows = r.rows("area_days.csv", files["area_days.csv"], ("地名",))
    center_col = next((h for h in header if h.startswith("センター")), None)
    rule_cols = [h for h in header if h not in ("地名", center_col) and h]
    for h in rule_cols:
        if h not in labels:
            r.error("area_days.csv", 1, f"列「{h}」は description.csv にない分別区分です")
    for line, row in rows:
        name = row["地名"]
        center = row.get(center_col, "") if center_col else ""
        problems = [p for h in rule_cols if (p := rule_problem(row.get(h, "")))]
        if not name:
            r.error("area_days.csv", line, "地名が空です")
        elif any(a.name == name for a in areas):
            r.error("area_days.csv", line, f"地名「{name}」が重複しています")
        elif center and centers and center not in center_names:
            r.error("area_days.csv", line, f"センター「{center}」は center.csv にありません")
        elif problems:
            for p in problems:
                r.error("area_days.csv", line, p)
        else:
            rules = tuple((h, unicodedata.normalize("NFKC", row[h]).strip()) for h in rule_cols if row.get(h, "").strip())
            areas.append(Area(name, center, rules))
    area_names = {a.name for a in areas}

    exceptions: list[CalendarException] = []
    if "calendar_exceptions.csv" in files:
        f = "calendar_exceptions.csv"
        _, rows = r.rows(f, files[f], ("日付", "地名", "種別", "対応"))
        for line, row in rows:
            day, moved = parse_date(row["日付"]), parse_date(row.get("振替日", ""))
            area, cat, action = row["地名"] or ALL, row["種別"] or ALL, row["対応"]
            if day is None:
                r.error(f, line, "日付は 2027-01-04 の形で書いてください")
            elif area != ALL and area not in area_names:
                r.error(f, line, f"地名「{area}」は area_days.csv にありません")
            elif cat != ALL and cat not in labels:
                r.error(f, line, f"種別「{cat}」は description.csv にない分別区分です")
            elif action not in ACTIONS:
                r.error(f, line, f"対応は {'・'.join(ACTIONS)} のどれかにしてください")
            elif action == "振替" and moved is None:
                r.error(f, line, "振替には振替日が必要です")
            else:
                exceptions.append(
                    CalendarException(day.isoformat(), area, cat, action, moved.isoformat() if moved else "", row.get("理由", ""))
                )

    remarks: list[str] = []
    if "remarks.csv" in files:
        header, rows = r.rows("remarks.csv", files["remarks.csv"], ())
        col = header[0] if header else ""
        remarks = [row[col] for _, row in rows if row.get(col)]

    if r.errors:
        raise GarbageImportError(r.errors)
    return Dataset(categories, items, areas, centers, exceptions, remarks)


def read_dir(path: Path) -> dict[str, bytes]:
    """The 5374 files present in a directory (unknown files are ignored)."""
    return {name: (path / name).read_bytes() for name in FILES if (path / name).is_file()}


def _safe(value: str) -> str:
    return "'" + value if value[:1] in _FORMULA else value


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_safe(str(c)) for c in row])
    return buf.getvalue().encode("utf-8-sig")


def _slash(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.year}/{d.month}/{d.day}"


def to_files(ds: Dataset) -> dict[str, bytes]:
    """The dataset as 5374 files (UTF-8 with BOM so that Excel opens them); ``parse_files`` reads them back."""
    cols = ds.scheduled_categories()
    return {
        "area_days.csv": _csv(
            ["地名", "センター", *cols], [[a.name, a.center, *[dict(a.rules).get(c, "") for c in cols]] for a in ds.areas]
        ),
        "target.csv": _csv(
            ["type", "name", "notice", "furigana", "name_en"],
            [[i.category, i.name, i.notice, i.furigana, i.name_en] for i in ds.items],
        ),
        "description.csv": _csv(
            ["label", "sublabel", "description", "styles", "bgcolor", "url"],
            [[c.label, c.sublabel, c.description, c.styles, c.bgcolor, c.url] for c in ds.categories],
        ),
        "center.csv": _csv(
            ["名称", "休止開始日", "休止終了日"], [[c.name, _slash(c.pause_start), _slash(c.pause_end)] for c in ds.centers]
        ),
        "calendar_exceptions.csv": _csv(
            ["日付", "地名", "種別", "対応", "振替日", "理由"],
            [[e.date, e.area, e.category, e.action, e.moved_to, e.reason] for e in ds.exceptions],
        ),
        "remarks.csv": _csv(["備考"], [[r] for r in ds.remarks]),
    }
