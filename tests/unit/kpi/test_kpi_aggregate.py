"""Aggregation correctness and the privacy rule (「5未満」 and no recovery from totals), on generated events."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from kpi import recorder as R
from kpi.aggregate import LT5, Cell, combine, period_view, protect_group, publish_day, quantile, rollup_area, share, sum_cells
from kpi.recorder import MemoryKpiRecorder, bucket_index, date_range

END = dt.date(2026, 11, 25)


async def _gen(rec: MemoryKpiRecorder, tenant: str, day: dt.date, *, messages=0, dv=0, child=0, waits=(), outside=0):
    for _ in range(messages):
        await rec.message_received(tenant, day)
    for i in range(dv):
        await rec.consultation_opened(tenant, "dv", outside_hours=i < outside, day=day)
    for _ in range(child):
        await rec.consultation_opened(tenant, "child", outside_hours=False, day=day)
    for w in waits:
        await rec.consultation_taken(tenant, "dv", wait_seconds=w, day=day)


def _all_cells(obj):
    """Every Cell reachable from a dataclass tree (what a template or a JSON dump could print)."""
    if isinstance(obj, Cell):
        yield obj
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _all_cells(getattr(obj, f.name))
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _all_cells(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _all_cells(v)


async def test_counts_under_five_are_published_as_5未満_never_exactly():
    rec = MemoryKpiRecorder()
    await _gen(rec, "demo", END, messages=4, dv=7, child=5)
    (raw,) = await rec.days("demo", [END])
    day = publish_day(raw)
    assert day.cells[R.MESSAGES].public() == "5未満"
    assert day.cells[R.MESSAGES].text("en") == "<5"
    assert day.cells[R.CONSULT_OPENED].public() == 12
    assert day.breakdowns["consult_category"]["child"] == Cell(5)
    assert day.breakdowns["consult_category"]["dv"] == Cell(7)
    # categories of the fixed vocabulary that nobody used show 「5未満」 too, not a tell-tale absence
    assert day.breakdowns["consult_category"]["suicide"] == LT5
    # zero is under five too: a visible 0 beside a 「5未満」 would say somebody was there
    assert day.cells[R.FAQ_UNANSWERED].public() == "5未満"
    # exactly five is published
    await rec.message_received("demo", END)
    assert publish_day((await rec.days("demo", [END]))[0]).cells[R.MESSAGES].public() == 5


async def test_a_suppressed_part_cannot_be_recovered_from_the_days_total():
    rec = MemoryKpiRecorder()
    await _gen(rec, "demo", END, dv=3, child=9)
    (raw,) = await rec.days("demo", [END])
    day = publish_day(raw, {"consult_category": ()})  # only the categories that occurred
    total = day.cells[R.CONSULT_OPENED]
    parts = day.breakdowns["consult_category"]
    assert total.public() == 12
    assert parts == {"dv": LT5, "child": Cell(0, "withheld")}  # 12 − 9 would have given dv = 3 away
    assert parts["child"].public() == "秘匿"
    # with the fixed vocabulary the 3 could sit in any of six 「5未満」 categories: nothing needs withholding
    full = publish_day(raw).breakdowns["consult_category"]
    assert full["child"] == Cell(9) and full["dv"] == full["suicide"] == LT5


async def test_no_suppressed_value_survives_into_published_structures():
    rec = MemoryKpiRecorder()
    days = date_range(END, 30)
    rng = random.Random(7)
    for d in days:
        await _gen(rec, "demo", d, messages=rng.randint(0, 9), dv=rng.randint(0, 4), child=rng.randint(0, 12))
    view = period_view("demo", "30d", {"demo": await rec.days("demo", days)})
    for cell in _all_cells(view):
        if cell.state in ("lt5", "withheld"):
            assert cell.value == 0


async def test_period_totals_are_derived_from_published_cells_only():
    """Exact sums over sliding windows would give daily values away (W(t) − W(t−1)); so a window with a hidden day
    publishes the sum of what is shown, flagged partial (「N以上」)."""
    rec = MemoryKpiRecorder()
    days = date_range(END, 7)
    counts = [10, 3, 8, 12, 6, 0, 9]
    for d, n in zip(days, counts, strict=True):
        await _gen(rec, "demo", d, messages=n)
    view = period_view("demo", "7d", {"demo": await rec.days("demo", days)})
    assert [c.public() for c in view.series[R.MESSAGES]] == [10, "5未満", 8, 12, 6, "5未満", 9]
    assert view.totals[R.MESSAGES] == Cell(45, "partial")
    assert view.totals[R.MESSAGES].text() == "45以上"
    # the next day's window: its published total minus this one's tells nothing about the hidden days
    await _gen(rec, "demo", END + dt.timedelta(days=1), messages=7)
    nxt = period_view("demo", "7d", {"demo": await rec.days("demo", date_range(END + dt.timedelta(days=1), 7))})
    assert nxt.totals[R.MESSAGES].value - view.totals[R.MESSAGES].value == 7 - 10  # only shown values move
    full = [11, 6, 8, 12, 6, 5, 9]
    rec2 = MemoryKpiRecorder()
    for d, n in zip(days, full, strict=True):
        await _gen(rec2, "demo", d, messages=n)
    exact = period_view("demo", "7d", {"demo": await rec2.days("demo", days)})
    assert exact.totals[R.MESSAGES] == Cell(57, "exact")


async def test_prefecture_sums_are_partial_when_a_tenant_cell_is_hidden():
    rec = MemoryKpiRecorder()
    await _gen(rec, "big", END, messages=120)
    await _gen(rec, "tiny", END, messages=2)
    view = period_view("all", "today", {t: await rec.days(t, [END]) for t in ("big", "tiny")})
    assert view.totals[R.MESSAGES] == Cell(120, "partial")  # never 122: that would reveal tiny's 2
    assert view.by_tenant["tiny"][R.MESSAGES] == LT5


async def test_wait_median_and_latency_percentiles_from_histograms():
    rec = MemoryKpiRecorder()
    rng = random.Random(1)
    waits = [rng.uniform(0, 1800) for _ in range(400)]
    for w in waits:
        await rec.consultation_taken("demo", "dv", wait_seconds=w, day=END)
    for lat in [5] * 90 + [400] * 10:
        await rec.alert_delivered("demo", "VPWW55", recipients=10, latency_seconds=lat, day=END)
    view = period_view("demo", "today", {"demo": await rec.days("demo", [END])})
    true_median = sorted(waits)[200]
    # within the width of the bucket that holds it
    i = bucket_index(true_median)
    assert abs(view.wait_median - true_median) <= R.BUCKETS[i] - R.BUCKETS[i - 1]
    assert view.latency_p50 <= 5 and 300 < view.latency_p95 <= 450
    assert view.totals[R.ALERTS] == Cell(100)  # alerts are not people: exact


async def test_wait_median_needs_five_waits():
    rec = MemoryKpiRecorder()
    await _gen(rec, "demo", END, waits=[60, 60, 60, 60])
    assert period_view("demo", "today", {"demo": await rec.days("demo", [END])}).wait_median is None
    await _gen(rec, "demo", END, waits=[60])
    assert period_view("demo", "today", {"demo": await rec.days("demo", [END])}).wait_median is not None


def test_quantile_interpolates_inside_the_bucket():
    hist = [0] * (len(R.BUCKETS) + 1)
    hist[bucket_index(100)] = 10  # bucket (90, 120]
    assert quantile(hist, 0.5) == 105.0
    assert quantile([0] * len(hist), 0.5) is None


async def test_shares_are_computed_from_published_figures():
    rec = MemoryKpiRecorder()
    await _gen(rec, "demo", END, dv=10, child=10, outside=5)
    view = period_view("demo", "today", {"demo": await rec.days("demo", [END])})
    assert view.shares["outside_hours"].value == 0.25 and not view.shares["outside_hours"].approximate
    assert share(LT5, Cell(20)).approximate  # a hidden numerator counts as 0, flagged
    assert share(Cell(5), LT5).value is None


async def test_snapshots_take_the_latest_day_and_protect_breakdowns():
    rec = MemoryKpiRecorder()
    d1, d2 = date_range(END, 2)
    await rec.subscribers_snapshot("demo", friends=100, subscribers=80, by_area={"27102": 78, "27103": 2},
                                   by_category={"rain_flood": 80, "crime": 3}, by_language={"ja": 90, "en": 10}, day=d1)
    await rec.subscribers_snapshot("demo", friends=103, subscribers=81, by_area={"27102": 78, "27103": 3},
                                   by_category={"rain_flood": 81, "crime": 3}, by_language={"ja": 93, "en": 10}, day=d2)
    view = period_view("demo", "7d", {"demo": await rec.days("demo", [d1, d2])})
    assert view.snapshot_day == d2
    assert view.totals[R.SNAP_FRIENDS] == Cell(103)
    assert [c.public() for c in view.series[R.SNAP_FRIENDS]] == [100, 103]
    assert {k: c.public() for k, c in view.breakdowns["area"].items()} == {"27102": "秘匿", "27103": "5未満"}
    # categories overlap (several per resident), so the total does not pin them: no complementary suppression
    cats = {k: c.public() for k, c in view.breakdowns["subscriber_category"].items()}
    assert cats["crime"] == "5未満" and cats["rain_flood"] == 81
    langs = {k: c.public() for k, c in view.breakdowns["language"].items()}
    assert (langs["en"], langs["ja"], langs["ko"]) == (10, 93, "5未満")


def test_rollup_area_sums_wards_into_their_city():
    cells = {"27102": Cell(40), "27103": LT5, "27205": Cell(9)}
    out = rollup_area(cells, {"27102": "27100", "27103": "27100"})
    assert out == {"27100": Cell(40, "partial"), "27205": Cell(9)}
    assert sum_cells([Cell(5), Cell(6)]) == Cell(11)


def _feasible_values(total: int, shown: dict[str, int], hidden: dict[str, tuple[int, int]]) -> dict[str, set[int]]:
    """What an observer can deduce for each hidden part by trying every assignment consistent with the page."""
    rest = total - sum(shown.values())
    keys = list(hidden)
    out: dict[str, set[int]] = {k: set() for k in keys}
    for combo in itertools.product(*(range(lo, hi + 1) for lo, hi in hidden.values())):
        if sum(combo) == rest:
            for k, v in zip(keys, combo, strict=True):
                out[k].add(v)
    return out


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from("abcde"), st.integers(0, 12), min_size=1, max_size=5))
def test_complementary_suppression_leaves_every_hidden_part_ambiguous(parts):
    total = sum(parts.values())
    total_cell, cells = protect_group(total, parts)
    if total_cell.state != "exact":
        return  # no equation to solve: nothing can be pinned
    for k, c in cells.items():
        assert c.state in ("exact", "lt5", "withheld")
        if c.state == "exact":
            assert c.value == parts[k] >= 5
        if c.state == "lt5":
            assert parts[k] < 5
    shown = {k: c.value for k, c in cells.items() if c.state == "exact"}
    rest = total - sum(shown.values())
    hidden = {k: (0, 4) if c.state == "lt5" else (5, max(5, rest)) for k, c in cells.items() if c.state != "exact"}
    if not hidden:
        return
    feasible = _feasible_values(total, shown, hidden)
    for k, values in feasible.items():
        assert parts[k] in values
        if cells[k].state == "lt5":  # an under-5 count is never pinned (pinned to 0 = "nobody" is allowed)
            assert len(values) >= 2 or values == {0}, (parts, k, values)


async def test_combining_two_periods_equals_aggregating_them_at_once():
    rec = MemoryKpiRecorder()
    days = date_range(END, 10)
    rng = random.Random(11)
    for tid in ("big", "tiny"):
        for d in days:
            k = 20 if tid == "big" else 1
            await _gen(rec, tid, d, messages=rng.randint(0, 3 * k), dv=rng.randint(0, k), child=rng.randint(0, 2 * k),
                       waits=[rng.uniform(0, 900) for _ in range(rng.randint(0, 3))], outside=1)
            if rng.random() < 0.7:
                await rec.subscribers_snapshot(tid, friends=rng.randint(0, 50 * k), subscribers=rng.randint(0, 30 * k),
                                               by_area={"27102": rng.randint(0, 9 * k)}, by_category={}, by_language={"ja": rng.randint(0, 40 * k)}, day=d)
    raw = {t: await rec.days(t, days) for t in ("big", "tiny")}
    whole = period_view("all", "10d", raw)
    for split in (1, 5, 9):
        older = period_view("all", "10d", {t: v[:split] for t, v in raw.items()})
        newer = period_view("all", "10d", {t: v[split:] for t, v in raw.items()})
        assert combine(older, newer) == whole
