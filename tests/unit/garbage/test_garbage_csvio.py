"""5374 import: the demo sample is complete and valid, encodings, row errors with line numbers, CSV round trip."""

from __future__ import annotations

import pytest

from garbage import GarbageImportError, MemoryDatasetStore, import_files, parse_files, to_files
from garbage.csvio import rule_problem


def test_demo_sample_is_complete(demo_ds):
    assert len(demo_ds.items) >= 300
    assert len(demo_ds.areas) >= 6
    assert any(any(ch.isdigit() for _, rule in a.rules for ch in rule) for a in demo_ds.areas)  # 第n曜日 rules
    assert demo_ds.centers and all(c.pause_start.endswith("-12-30") or c.pause_start.endswith("-12-31") for c in demo_ds.centers)
    labels = {c.label for c in demo_ds.categories}
    assert {i.category for i in demo_ds.items} <= labels
    sodai = [i for i in demo_ds.items if i.category == "粗大ごみ"]
    assert sodai and all("円" in i.notice for i in sodai)  # every 粗大ごみ item states its fee
    assert all(c.url.startswith("https://") for c in demo_ds.categories)


def test_round_trip_keeps_everything(demo_ds):
    assert parse_files(to_files(demo_ds)) == demo_ds


def test_english_names_are_an_optional_column(demo_files, demo_ds):
    assert all(i.english_names() for i in demo_ds.items)  # the demo list names every item in English too
    pan = next(i for i in demo_ds.items if i.name == "フライパン")
    assert pan.english_names()[0] == "frying pan"
    lines = demo_files["target.csv"].decode("utf-8").splitlines()
    without = "\n".join(line.rsplit(",", 1)[0] for line in lines).encode()  # name_en is the last column
    ds = parse_files({**demo_files, "target.csv": without})
    assert [i.name for i in ds.items] == [i.name for i in demo_ds.items] and not any(i.name_en for i in ds.items)


def test_shift_jis_files_are_read(demo_files, demo_ds):
    sjis = {name: data.decode("utf-8-sig").encode("cp932") for name, data in demo_files.items()}
    assert parse_files(sjis) == demo_ds


def test_broken_rows_are_reported_with_their_lines(demo_files):
    files = dict(demo_files)
    target = files["target.csv"].decode("utf-8").splitlines()
    target[4] = "ふしぎごみ,謎の物体,,なぞのぶったい"  # line 5: unknown category
    target[9] = ",名前のない区分,,"
    files["target.csv"] = "\n".join(target).encode("utf-8")
    area = files["area_days.csv"].decode("utf-8").splitlines()
    area[2] = area[2].replace("月 木", "月曜 木", 1)  # line 3: bad day rule
    files["area_days.csv"] = "\n".join(area).encode("utf-8")
    with pytest.raises(GarbageImportError) as exc:
        parse_files(files)
    where = {(e.file, e.line) for e in exc.value.errors}
    assert ("target.csv", 5) in where and ("target.csv", 10) in where and ("area_days.csv", 3) in where
    assert "月曜" in str(exc.value)


def test_missing_required_file_and_bad_exception_rows(demo_files):
    files = {k: v for k, v in demo_files.items() if k != "description.csv"}
    with pytest.raises(GarbageImportError) as exc:
        parse_files(files)
    assert exc.value.errors[0].file == "description.csv"
    files = dict(demo_files)
    files["calendar_exceptions.csv"] = (
        "日付,地名,種別,対応,振替日,理由\n2027-13-01,*,*,休止,,x\n2027-01-02,どこか,*,休止,,x\n2027-01-02,*,*,振替,,x\n"
    ).encode()
    with pytest.raises(GarbageImportError) as exc:
        parse_files(files)
    assert [e.line for e in exc.value.errors] == [2, 3, 4]


def test_undecodable_file_is_an_error(demo_files):
    files = dict(demo_files)
    files["remarks.csv"] = b"\xff\xfe\x00\x81\x00garbage"
    with pytest.raises(GarbageImportError, match="文字コード"):
        parse_files(files)


async def test_reimport_replaces_atomically(demo_files, demo_ds):
    store = MemoryDatasetStore()
    await import_files(store, "demo", demo_files)
    broken = dict(demo_files, **{"target.csv": b"type,name\n\xe7\x87\x83,\n"})
    with pytest.raises(GarbageImportError):
        await import_files(store, "demo", broken)
    assert await store.get("demo") == demo_ds and await store.revision("demo") == 1
    smaller = dict(demo_files, **{"target.csv": "type,name,notice,furigana\n燃やすごみ,生ごみ,,なまごみ\n".encode()})
    await import_files(store, "demo", smaller)
    assert [i.name for i in (await store.get("demo")).items] == ["生ごみ"]


@pytest.mark.parametrize("rule,ok", [("月 木", True), ("水2 水4", True), ("20270104", True), ("火1 火3:4 5", True),
                                     ("月曜", False), ("水6", False), ("20271340", False), ("月:13", False), ("", True)])
def test_rule_syntax(rule, ok):
    assert (rule_problem(rule) is None) == ok
