"""Importer/exporter behaviour city IT staff rely on: encodings, headers by name, row errors, re-import, injection."""

from __future__ import annotations

import csv
import io
import json

import pytest

from faq.index import LiveIndex
from faq.io import FaqImportError, export_csv, import_file, parse_bytes, search_queries, write_csv
from faq.models import FaqEntry
from faq.store import MemoryFaqStore

CSV = (
    "分類,ID,質問,回答,URL,更新日\r\n"
    "ごみ,g1,粗大ごみの出し方は？,事前に申し込んでください。,https://example.jp/g1,2026-10-01\r\n"
    "戸籍,k1,住民票はどこで取れますか？,市民課で取れます。,,\r\n"
)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "encoding,prefix",
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp932", b""), ("shift_jis", b"")],
)
async def test_encodings_are_detected(tmp_path, encoding, prefix):
    store = MemoryFaqStore()
    report = await import_file(store, "t", write(tmp_path, "faq.csv", prefix + CSV.encode(encoding)))
    assert (report.created, report.errors) == (2, [])
    g1 = await store.get("t", "g1")
    assert (g1.question, g1.category, g1.url) == ("粗大ごみの出し方は？", "ごみ", "https://example.jp/g1")


async def test_cp932_only_characters(tmp_path):
    data = "ID,質問,回答\r\n1,①番窓口はどこ？,髙島屋の隣です。\r\n".encode("cp932")
    store = MemoryFaqStore()
    await import_file(store, "t", write(tmp_path, "f.csv", data))
    assert (await store.get("t", "1")).question == "①番窓口はどこ？"


def test_wrong_encoding_is_a_clear_error():
    with pytest.raises(FaqImportError, match="UTF-16"):
        parse_bytes(CSV.encode("utf-16"), "t")
    with pytest.raises(FaqImportError, match="文字コード"):
        parse_bytes("ID,質問,回答\n1,あ,い\n".encode("euc_jp") + b"\xff\xfe\xfd", "t")


def test_damaged_utf8_is_reported_not_read_as_shift_jis():
    data = ("ID,質問,回答\n" + "".join(f"{i},住民票の写しはどこで取れますか,市民課です\n" for i in range(30))).encode()
    damaged = data[:200] + b"\xff" + data[200:]
    with pytest.raises(FaqImportError, match=r"UTF-8 として読めない箇所があります \(\d+ 行目、\d+ バイト目\)"):
        parse_bytes(damaged, "t")


def test_missing_required_columns_named_in_error():
    with pytest.raises(FaqImportError, match="回答"):
        parse_bytes("ID,質問\n1,あ\n".encode(), "t")


def test_headers_found_by_name_in_any_order_and_width():
    parsed = parse_bytes("ＵＲＬ, 回答 ,ｉｄ,質問,備考\nhttps://e.jp,答え,7,問い,無視\n".encode(), "t")
    assert [(e.id, e.question, e.answer, e.url) for e in parsed.entries] == [("7", "問い", "答え", "https://e.jp")]


def test_bad_rows_reported_with_line_numbers_good_rows_kept():
    data = (
        "ID,質問,回答,URL\n"
        "1,良い質問,良い回答,\n"
        '2,"複数行の\n質問",回答,\n'  # lines 3-4
        "3,,回答なし質問,\n"  # line 5: empty 質問
        "1,重複,重複,\n"  # line 6: duplicate ID
        "4,質問,回答,javascript:alert(1)\n"  # line 7: bad URL
        "5,質問5,回答5,\n"
    ).encode()
    parsed = parse_bytes(data, "t")
    assert [e.id for e in parsed.entries] == ["1", "2", "5"]
    assert [(e.line, e.message[:4]) for e in parsed.errors] == [(5, "質問 が"), (6, "ID 1"), (7, "URL ")]
    assert "2 行目" in str(parsed.errors[1])


def test_too_large_file_is_refused_before_parsing(tmp_path):
    path = write(tmp_path, "big.csv", b"ID,\xe8\xb3\xaa\xe5\x95\x8f,\xe5\x9b\x9e\xe7\xad\x94\n" + b"x" * 2000)
    with pytest.raises(FaqImportError, match="大きすぎます"):
        from faq.io import parse_file

        parse_file(path, "t", max_bytes=1000)


def test_fifty_megabyte_file_refused_with_default_limit(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: costs no disk
    from faq.io import parse_file

    with pytest.raises(FaqImportError, match="50.0 MB"):
        parse_file(path, "t")


def test_binary_file_refused():
    with pytest.raises(FaqImportError, match="バイナリ"):
        parse_bytes(b"PK\x03\x04\x00\x00" + b"\x00" * 100, "t")


async def test_reimport_updates_in_place(tmp_path):
    store = MemoryFaqStore()
    await import_file(store, "t", write(tmp_path, "a.csv", CSV.encode()))
    changed = CSV.replace("市民課で取れます。", "市民課とコンビニで取れます。")
    report = await import_file(store, "t", write(tmp_path, "b.csv", changed.encode()), who="staff")
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    k1 = await store.get("t", "k1")
    assert (k1.answer, k1.version) == ("市民課とコンビニで取れます。", 2)
    assert (await store.history("t", "k1"))[0].who == "staff"


async def test_export_neutralises_formulas_and_roundtrips(tmp_path):
    store = MemoryFaqStore()
    hostile = [
        FaqEntry("t", "1", "=HYPERLINK(\"http://evil\",\"x\")", "+1+2", keywords=["@SUM(A1)"]),
        FaqEntry("t", "2", "-2+3", "\t=cmd|' /C calc'!A0", category="ごみ"),
        FaqEntry("t", "3", "普通の質問", "普通の回答"),
    ]
    await store.put_many("t", hostile, who="x")
    out = io.StringIO()
    assert await export_csv(store, "t", out) == 3
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:3] == ["ID", "質問", "回答"]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    # re-importing our own export gives back the original text
    again = MemoryFaqStore()
    report = await import_file(again, "t", write(tmp_path, "e.csv", out.getvalue().encode("utf-8-sig")))
    assert report.errors == []
    assert [(e.question, e.answer, e.keywords) for e in await again.all("t")] == [
        (e.question, e.answer, e.keywords) for e in hostile
    ]


def test_json_import_accepts_japanese_or_field_names():
    data = json.dumps(
        [{"ID": "1", "質問": "問い", "回答": "答え", "キーワード": ["a", "b"]},
         {"id": "2", "question": "q", "answer": "a"},
         {"id": "3", "question": "q"}],
        ensure_ascii=False,
    ).encode()
    parsed = parse_bytes(data, "t", is_json=True)
    assert [e.id for e in parsed.entries] == ["1", "2"]
    assert parsed.entries[0].keywords == ["a", "b"]
    assert str(parsed.errors[0]).startswith("3 番目の要素: 回答 が空です")


def test_write_csv_header_matches_import():
    out = io.StringIO()
    write_csv([FaqEntry("t", "x", "問", "答", url="https://e.jp")], out)
    parsed = parse_bytes(out.getvalue().encode(), "t")
    assert parsed.entries[0].url == "https://e.jp" and parsed.errors == []


async def test_search_queries_yields_one_result_per_line():
    store = MemoryFaqStore()
    await store.put_many("t", [FaqEntry("t", "g1", "粗大ごみの出し方", "申し込みが必要です")], who="x")
    results = [r async for r in search_queries(LiveIndex(store), "t", ["粗大ゴミ\n", "\n", "宇宙"], top=3)]
    assert [r["query"] for r in results] == ["粗大ゴミ", "宇宙"]
    assert results[0]["results"][0]["id"] == "g1" and set(results[0]["results"][0]) == {"id", "score", "question"}
    assert results[1]["results"] == []
