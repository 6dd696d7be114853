"""Import, export and batch search of a tenant's FAQ — the functions behind ``civicbot faq import|export|search``.

City IT staff produce these files in Excel, so: columns are found by header name (any order, extra columns ignored),
UTF-8 with or without BOM and Shift_JIS/CP932 are accepted, a bad row is reported with its line number while the
good rows still load, and exported cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import unicodedata
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from faq.index import LiveIndex
from faq.models import FaqEntry, Translation
from faq.store import FaqStore, PutResult

MAX_BYTES = 20 * 1024 * 1024  # a city's whole FAQ is well under 5 MB; larger files are a mistake or an attack
MAX_QUESTION = 1000
MAX_ANSWER = 20000

# Column header (after NFKC, lower case, spaces removed) → FaqEntry field.
HEADERS = {
    "id": "id", "faqid": "id", "番号": "id",
    "質問": "question", "question": "question", "質問文": "question",
    "回答": "answer", "answer": "answer", "回答文": "answer",
    "分類": "category", "category": "category", "カテゴリ": "category", "カテゴリー": "category",
    "url": "url", "リンク": "url",
    "更新日": "updated", "updated": "updated", "最終更新日": "updated",
    "キーワード": "keywords", "keywords": "keywords",
    "全国地方公共団体コード": "municipality_code", "地方公共団体名": "municipality_name",
    "municipality_code": "municipality_code", "municipality_name": "municipality_name",
    "別の聞き方": "alternatives", "別の質問": "alternatives", "alternatives": "alternatives",
    "alternativequestions": "alternatives",
}
# Translation columns: 「質問(en)」「回答(en)」, 「question_en」「answer_en」, 「質問:zh-Hans」 … (any order, any language).
LANGUAGES = ("ja-easy", "en", "zh-Hans", "zh-Hant", "ko", "vi", "pt", "es", "tl", "ne", "id", "th", "my")
_LANG_CASE = {lang.lower(): lang for lang in LANGUAGES}
_TRANSLATION_HEADER = re.compile(r"^(質問|回答|question|answer)[_:(（\-]?([a-z]{2,3}(?:-[a-z]+)?)[)）]?$")
_PART = {"質問": "question", "question": "question", "回答": "answer", "answer": "answer"}
MAX_ALTERNATIVES = 50
_ALTERNATIVE_SPLIT = re.compile(r"[\n｜|]+")
REQUIRED = {"id": "ID", "question": "質問", "answer": "回答"}
EXPORT_COLUMNS = [
    ("ID", "id"), ("質問", "question"), ("回答", "answer"), ("分類", "category"), ("URL", "url"),
    ("更新日", "updated"), ("キーワード", "keywords"), ("全国地方公共団体コード", "municipality_code"),
    ("地方公共団体名", "municipality_name"),
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_KEYWORD_SPLIT = re.compile(r"[、,;；/／\s]+")


class FaqImportError(ValueError):
    """The whole file is unusable (too large, undecodable, required columns missing). Message is for staff."""


@dataclass
class RowError:
    line: int  # CSV: 1-based line in the file (the header is line 1); JSON: 1-based position in the array
    message: str
    unit: str = "行目"

    def __str__(self) -> str:
        return f"{self.line} {self.unit}: {self.message}"


@dataclass
class ParsedFile:
    entries: list[FaqEntry]
    errors: list[RowError]
    encoding: str
    lines: dict[str, int] = field(default_factory=dict)  # entry id → line, for previews


@dataclass
class ImportReport:
    created: int
    updated: int
    unchanged: int
    errors: list[RowError]
    encoding: str

    def summary(self) -> str:
        head = (f"取り込み: 新規 {self.created} 件、更新 {self.updated} 件、変更なし {self.unchanged} 件、"
                f"エラー {len(self.errors)} 件 (文字コード {self.encoding})")
        return "\n".join([head, *(str(e) for e in self.errors)])


# -- reading ---------------------------------------------------------------------------------------------------------
def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (BOM or not) first, then CP932 (a superset of Shift_JIS). Strict: a wrong guess is an error, not mojibake."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FaqImportError(f"UTF-8 (BOM 付き) として読めません: {exc.start} バイト目が不正です") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FaqImportError("UTF-16 のファイルは読めません。UTF-8 か Shift_JIS (CP932) で保存してください")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    # Mostly valid UTF-8 with a few bad bytes is a damaged UTF-8 file, not Shift_JIS: say where, don't guess.
    lenient = data.decode("utf-8", errors="replace")
    multibyte = sum(1 for ch in lenient if ord(ch) > 0x7F and ch != "\ufffd")
    if multibyte > 20 * lenient.count("\ufffd"):
        line = data[: utf8_error.start].count(b"\n") + 1
        raise FaqImportError(
            f"UTF-8 として読めない箇所があります ({line} 行目、{utf8_error.start} バイト目)。ファイルが壊れていないか確認してください"
        )
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError:
        raise FaqImportError("文字コードを判別できません。UTF-8 か Shift_JIS (CP932) で保存してください") from None


def read_bytes(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> bytes:
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise FaqImportError(
            f"ファイルが大きすぎます ({size / 1048576:.1f} MB)。上限は {max_bytes / 1048576:.0f} MB です"
        )
    return Path(path).read_bytes()


def _header_key(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).lower()


def column_target(name: str) -> str | None:
    """A column header → the FaqEntry field it fills, or ``question:<lang>`` / ``answer:<lang>`` for translations."""
    key = _header_key(name)
    if key in HEADERS:
        return HEADERS[key]
    m = _TRANSLATION_HEADER.match(key)
    if m is None:
        return None
    lang = _LANG_CASE.get(m.group(2), m.group(2))
    return None if lang == "ja" else f"{_PART[m.group(1)]}:{lang}"


def translation_columns(languages: Iterable[str]) -> list[tuple[str, str]]:
    """Export/admin columns for these languages: (header, target) pairs, question then answer per language."""
    return [(f"{label}({lang})", f"{part}:{lang}") for lang in languages
            for label, part in (("質問", "question"), ("回答", "answer"))]


def _unquote_formula(cell: str) -> str:
    """Undo our own export neutralisation (``'=...`` → ``=...``) so export → import round-trips."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_START:
        return cell[1:]
    return cell


def entry_from_fields(tenant: str, values: dict[str, str]) -> tuple[FaqEntry | None, str | None]:
    values = {k: _unquote_formula((v or "").strip()) for k, v in values.items()}
    missing = [REQUIRED[k] for k in ("id", "question", "answer") if not values.get(k)]
    if missing:
        return None, f"{'・'.join(missing)} が空です"
    entry_id = unicodedata.normalize("NFKC", values["id"])
    if len(entry_id) > 64 or not re.fullmatch(r"[\w.\-]+", entry_id):
        return None, f"ID {values['id']!r} は使えません (英数字・-・_・. で 64 文字まで)"
    if len(values["question"]) > MAX_QUESTION:
        return None, f"質問が長すぎます ({len(values['question'])} 文字、上限 {MAX_QUESTION})"
    if len(values["answer"]) > MAX_ANSWER:
        return None, f"回答が長すぎます ({len(values['answer'])} 文字、上限 {MAX_ANSWER})"
    url = values.get("url", "")
    if url and not re.match(r"^https?://[^\s]+$", url):
        return None, f"URL {url[:60]!r} は http:// か https:// で始まる必要があります"
    keywords = [k for k in _KEYWORD_SPLIT.split(values.get("keywords", "")) if k]
    alternatives = list(dict.fromkeys(a.strip() for a in _ALTERNATIVE_SPLIT.split(values.get("alternatives", ""))
                                      if a.strip()))
    if len(alternatives) > MAX_ALTERNATIVES or any(len(a) > MAX_QUESTION for a in alternatives):
        return None, f"別の聞き方は {MAX_ALTERNATIVES} 個、各 {MAX_QUESTION} 文字までです"
    translations: dict[str, Translation] = {}
    for key, value in values.items():
        part, _, lang = key.partition(":")
        if lang and value:
            limit = MAX_QUESTION if part == "question" else MAX_ANSWER
            if len(value) > limit:
                return None, f"{lang} の{'質問' if part == 'question' else '回答'}が長すぎます (上限 {limit} 文字)"
            setattr(translations.setdefault(lang, Translation()), part, value)
    for lang, t in translations.items():
        if not (t.question and t.answer):
            return None, f"{lang} の翻訳は質問と回答の両方が必要です"
    return FaqEntry(
        tenant=tenant, id=entry_id, question=values["question"], answer=values["answer"],
        category=values.get("category", ""), url=url, updated=values.get("updated", ""), keywords=keywords,
        municipality_code=values.get("municipality_code", ""), municipality_name=values.get("municipality_name", ""),
        alternatives=alternatives, translations=dict(sorted(translations.items())),
    ), None


def _collect(tenant: str, rows: Iterable[tuple[int, dict[str, str]]], encoding: str) -> ParsedFile:
    parsed = ParsedFile([], [], encoding)
    for line, values in rows:
        entry, error = entry_from_fields(tenant, values)
        if error:
            parsed.errors.append(RowError(line, error))
            continue
        assert entry is not None
        if entry.id in parsed.lines:
            parsed.errors.append(RowError(line, f"ID {entry.id} が {parsed.lines[entry.id]} 行目と重複しています"))
            continue
        parsed.lines[entry.id] = line
        parsed.entries.append(entry)
    return parsed


def parse_csv(text: str, tenant: str, encoding: str = "utf-8") -> ParsedFile:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FaqImportError("ファイルが空です") from None
    except csv.Error as exc:
        raise FaqImportError(f"CSV として読めません: {exc}") from None
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        target = column_target(name)
        if target and target not in columns:
            columns[target] = i
    missing = [label for key, label in REQUIRED.items() if key not in columns]
    if missing:
        raise FaqImportError(
            f"必須の列がありません: {', '.join(missing)} (見出し行: {', '.join(h[:20] for h in header[:12])})"
        )

    def rows() -> Iterable[tuple[int, dict[str, str]]]:
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, {"__error__": str(exc)}
                return
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            yield line, {key: (row[i] if i < len(row) else "") for key, i in columns.items()}

    parsed = ParsedFile([], [], encoding)
    good = []
    for line, values in rows():
        if "__error__" in values:
            parsed.errors.append(RowError(line, f"CSV の形式が壊れています ({values['__error__']})。以降は読めません"))
            break
        good.append((line, values))
    result = _collect(tenant, good, encoding)
    result.errors = sorted(parsed.errors + result.errors, key=lambda e: e.line)
    return result


def parse_json(text: str, tenant: str, encoding: str = "utf-8") -> ParsedFile:
    """A list of objects (or ``{"entries": [...]}``) keyed by the CSV headers or by FaqEntry field names."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FaqImportError(f"JSON として読めません ({exc.lineno} 行目: {exc.msg})") from None
    if isinstance(data, dict):
        data = data.get("entries")
    if not isinstance(data, list):
        raise FaqImportError("JSON はエントリの配列 (または {\"entries\": [...]}) にしてください")
    rows = []
    for n, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            rows.append((n, {}))
            continue
        values: dict[str, str] = {}
        for k, v in item.items():
            if str(k) == "translations" and isinstance(v, dict):
                for lang, t in v.items():
                    if isinstance(t, dict):
                        values[f"question:{lang}"] = str(t.get("question") or "")
                        values[f"answer:{lang}"] = str(t.get("answer") or "")
                continue
            target = column_target(str(k))
            if target:
                sep = "\n" if target == "alternatives" else "、"
                values[target] = sep.join(map(str, v)) if isinstance(v, list) else ("" if v is None else str(v))
        rows.append((n, values))
    parsed = _collect(tenant, rows, encoding)
    for e in parsed.errors:  # JSON has no useful line numbers: say which element of the array
        e.unit = "番目の要素"
    return parsed


def parse_file(path: str | os.PathLike, tenant: str, max_bytes: int = MAX_BYTES) -> ParsedFile:
    """Read and validate without touching the store (the admin UI's preview uses this too)."""
    data = read_bytes(path, max_bytes)
    return parse_bytes(data, tenant, is_json=str(path).lower().endswith(".json"), max_bytes=max_bytes)


def parse_bytes(data: bytes, tenant: str, is_json: bool = False, max_bytes: int = MAX_BYTES) -> ParsedFile:
    if len(data) > max_bytes:
        raise FaqImportError(
            f"ファイルが大きすぎます ({len(data) / 1048576:.1f} MB)。上限は {max_bytes / 1048576:.0f} MB です"
        )
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FaqImportError(
            "バイナリファイルのようです (Excel 形式 .xlsx や UTF-16 は、CSV UTF-8 で保存し直してください)"
        )
    text, encoding = decode(data)
    if is_json or text.lstrip().startswith(("[", "{")):
        return parse_json(text, tenant, encoding)
    return parse_csv(text, tenant, encoding)


def parse_translations(data: bytes) -> tuple[dict[str, dict[str, Translation]], list[RowError]]:
    """A translations-only CSV (``ID`` + ``質問(lang)``/``回答(lang)`` columns, like the demo's English file):
    entry id → language → translation. A row with half a translation is an error; the other rows still count."""
    text, _ = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    columns = {column_target(name): i for i, name in enumerate(header)}
    if "id" not in columns:
        raise FaqImportError("ID の列がありません")
    parts = {target: i for target, i in columns.items() if target and ":" in target}
    found: dict[str, dict[str, Translation]] = {}
    errors: list[RowError] = []
    for line, row in enumerate(reader, start=2):
        cells = {target: (row[i].strip() if i < len(row) else "") for target, i in parts.items()}
        entry_id = row[columns["id"]].strip() if columns["id"] < len(row) else ""
        by_lang: dict[str, Translation] = {}
        for target, value in cells.items():
            part, _, lang = target.partition(":")
            if value:
                setattr(by_lang.setdefault(lang, Translation()), part, value)
        bad = [lang for lang, t in by_lang.items() if not (t.question and t.answer)]
        if not entry_id or bad:
            errors.append(RowError(line, f"{'・'.join(bad)} の翻訳は質問と回答の両方が必要です" if bad else "ID が空です"))
            continue
        found[entry_id] = by_lang
    return found, errors


async def import_entries(store: FaqStore, tenant: str, parsed: ParsedFile, who: str) -> ImportReport:
    result: PutResult = await store.put_many(tenant, parsed.entries, who)
    return ImportReport(result.created, result.updated, result.unchanged, parsed.errors, parsed.encoding)


async def import_file(
    store: FaqStore, tenant: str, path: str | os.PathLike, who: str = "cli", max_bytes: int = MAX_BYTES
) -> ImportReport:
    """``civicbot faq import --tenant T FILE``. Raises FaqImportError for an unusable file; row errors are in the report."""
    return await import_entries(store, tenant, parse_file(path, tenant, max_bytes), who)


# -- writing ---------------------------------------------------------------------------------------------------------
def neutralise(cell: str) -> str:
    """Prefix cells a spreadsheet would evaluate (=, +, -, @, tab, CR) with a quote (OWASP CSV injection advice)."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def entry_languages(entries: Iterable[FaqEntry]) -> list[str]:
    """Languages any of these entries is translated into, in the catalogue's order."""
    found = {lang for e in entries for lang in e.translations}
    return [lang for lang in LANGUAGES if lang in found] + sorted(found - set(LANGUAGES))


def cell(entry: FaqEntry, target: str) -> str:
    """One exported cell: a field, ``alternatives`` (one per line) or a translation part."""
    part, _, lang = target.partition(":")
    if lang:
        t = entry.translations.get(lang)
        return getattr(t, part) if t is not None else ""
    value = getattr(entry, target)
    if target == "alternatives":
        return "\n".join(value)
    return "、".join(value) if isinstance(value, list) else str(value)


def write_csv(entries: Iterable[FaqEntry], out: TextIO) -> int:
    entries = list(entries)
    columns = [*EXPORT_COLUMNS, ("別の聞き方", "alternatives"), *translation_columns(entry_languages(entries))]
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label for label, _ in columns])
    for e in entries:
        writer.writerow([neutralise(cell(e, target)) for _, target in columns])
    return len(entries)


async def export_csv(store: FaqStore, tenant: str, out: TextIO) -> int:
    """``civicbot faq export --tenant T``: the import format (write with encoding "utf-8-sig" for Excel)."""
    return write_csv(await store.all(tenant), out)


async def export_json(store: FaqStore, tenant: str, out: TextIO) -> int:
    entries = await store.all(tenant)
    json.dump([{**{label: ("、".join(getattr(e, n)) if n == "keywords" else getattr(e, n)) for label, n in
                   EXPORT_COLUMNS}, "alternatives": e.alternatives,
                 "translations": {lang: {"question": t.question, "answer": t.answer}
                                  for lang, t in e.translations.items()}}
                for e in entries], out, ensure_ascii=False, indent=1)
    return len(entries)


async def search_queries(
    index: LiveIndex, tenant: str, queries: Iterable[str], top: int = 5
) -> AsyncIterator[dict[str, Any]]:
    """``civicbot faq search --tenant T --top K``: one result dict per non-empty query line."""
    for line in queries:
        query = line.strip()
        if not query:
            continue
        hits = await index.search(tenant, query, top)
        yield {"query": query, "results": [{"id": h.id, "score": round(h.score, 4), "question": h.question}
                                           for h in hits]}
