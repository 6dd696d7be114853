"""Dashboard and open-data figures from raw daily aggregates — pure functions, with the privacy rule built in.

The rule: a cell counting people under 5 is published as 「5未満」, never its exact count; no text, no ids.

How totals are kept from giving suppressed cells away (the design choice, documented for reviewers):

1. **The daily cell is the only atomic published unit.** Each (tenant, day, measure[, breakdown key]) count of people
   is published exactly when ≥ 5, else as 「5未満」 (0 included: a visible 0 next to a 「5未満」 would tell that
   somebody was there).
2. **Complementary suppression inside a day.** Where a day publishes a total and its additive breakdown
   (consultations by category, friends by language, subscribers by area) one hidden part could be recovered as
   total − Σ shown parts. ``protect_group`` hides further parts (smallest first, shown as 「秘匿」, "withheld") until no
   under-5 cell is pinned to a positive value by the equation and the known bounds (hidden under-5 cells lie in 0–4,
   withheld ones in 5–R). Zeros are published as 「5未満」 too but may be inferable as 0 (e.g. every category
   shown except empty ones): telling that nobody was counted harms no one, and hiding it would withhold most days'
   breakdowns. The groups and their keys (a fixed vocabulary) are the same for a day in every view and file, so
   two views can never be combined to undo the suppression.
3. **Everything else is derived from published cells only.** A period total (7/30/365 days), a prefecture-wide sum
   or a share is computed from the published daily cells, with hidden cells counted as 0 and the result flagged
   ``partial`` (shown as "N以上"). We do *not* publish exact window sums: the windows slide daily, so exact sums
   for consecutive days would give every daily value away (W(t) − W(t−1) = x(t) − x(t−n)).
4. Alert counts and broadcast counts are not counts of people and are published exactly. So are counts of 通報
   (reports opened/closed, by category): each report is already public, one by one with its category and dates,
   through Open311 GeoReport v2 (``reports.open311``), so hiding a daily count would hide nothing. Medians/p95 of waiting
   times are published only when at least 5 waits are in the window (a single person's wait is not shown).

Residual risks, accepted and documented:
* consecutive days' snapshots (friends, subscribers, by language/area) differ by the day's net change, which may be
  small — the price of publishing the friends count at all (the daily follow/block flows are therefore not
  published, see ``kpi.opendata``);
* "today" is live, so watching a today-cell change reveals when something happened (the web layer caches for
  ``cache_seconds``);
* a breakdown key outside the fixed vocabulary (``BASE_VOCAB`` + the tenant's areas) appears only on days it occurs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from kpi import recorder as R
from kpi.recorder import BUCKETS, DayStats

THRESHOLD = 5
LT5_JA = "5未満"
WITHHELD_JA = "秘匿"

PERIODS: dict[str, int] = {"today": 1, "7d": 7, "30d": 30, "365d": 365}

State = Literal["exact", "lt5", "withheld", "partial"]

# Daily counts of people (or of people's actions): suppressed under 5.
PEOPLE_MEASURES: tuple[str, ...] = (
    R.MESSAGES,
    R.FRIENDS_ADDED,
    R.FRIENDS_REMOVED,
    R.FAQ_ANSWERED,
    R.FAQ_RESOLVED,
    R.FAQ_UNANSWERED,
    R.FAQ_UP,
    R.FAQ_DOWN,
    R.CONSULT_OPENED,
    R.CONSULT_OUTSIDE,
    R.CONSULT_TAKEN,
    R.ALERT_RECIPIENTS,
    R.BROADCAST_RECIPIENTS,
    R.REMINDER_RECIPIENTS,
)
# Counts of things the service sent (JMA alerts, staff broadcasts, garbage reminders) and of reports (public one by
# one in Open311): exact.
EXACT_MEASURES: tuple[str, ...] = (R.ALERTS, R.BROADCASTS, R.REMINDERS, R.REPORTS_OPENED, R.REPORTS_CLOSED)
SNAPSHOT_MEASURES: tuple[str, ...] = (R.SNAP_FRIENDS, R.SNAP_SUBSCRIBERS)
# breakdown name -> (total measure, additive?, from snapshot?)
BREAKDOWNS: dict[str, tuple[str, bool, bool]] = {
    "consult_category": (R.CONSULT_OPENED, True, False),
    "alert_kind": (R.ALERTS, True, False),
    "area": (R.SNAP_SUBSCRIBERS, True, True),  # one area per subscriber assumed: conservative either way
    "subscriber_category": (R.SNAP_SUBSCRIBERS, False, True),  # several categories per subscriber
    "language": (R.SNAP_FRIENDS, True, True),
    "report_opened_category": (R.REPORTS_OPENED, True, False),
    "report_closed_category": (R.REPORTS_CLOSED, True, False),
}


@dataclass(frozen=True)
class Cell:
    """A published number. Suppressed cells carry value 0: the exact count never leaves ``publish_day``."""

    value: int = 0
    state: State = "exact"

    @property
    def known(self) -> bool:
        return self.state == "exact"

    def public(self) -> int | str:
        """The open-data representation: an int, 「5未満」 or 「秘匿」 (daily cells are never partial)."""
        if self.state == "lt5":
            return LT5_JA
        if self.state == "withheld":
            return WITHHELD_JA
        return self.value

    def text(self, lang: str = "ja") -> str:
        en = lang == "en"
        if self.state == "lt5":
            return "<5" if en else LT5_JA
        if self.state == "withheld":
            return "withheld" if en else WITHHELD_JA
        if self.state == "partial":
            if self.value == 0:
                return "withheld" if en else "非公表"
            return f"≥{self.value:,}" if en else f"{self.value:,}以上"
        return f"{self.value:,}"


LT5 = Cell(0, "lt5")
WITHHELD = Cell(0, "withheld")


def people_cell(n: int) -> Cell:
    return Cell(int(n)) if n >= THRESHOLD else LT5


def sum_cells(cells: Iterable[Cell]) -> Cell:
    """A derived total from published cells only: hidden ones count 0 and make the result ``partial``."""
    cells = list(cells)
    if len(cells) == 1:
        return cells[0]
    value = sum(c.value for c in cells if c.state in ("exact", "partial"))
    partial = any(c.state != "exact" for c in cells)
    return Cell(value, "partial" if partial else "exact")


def _pinned(total: int, parts: Mapping[str, int], primary: set[str], secondary: set[str]) -> bool:
    """Would total − Σ shown parts, with the bounds an observer knows, pin a hidden under-5 part to a positive value?

    An observer knows each 「5未満」 part lies in 0–4 and each 「秘匿」 part in 5–rest; with one linear equation and box
    bounds the feasible values of a part form the interval [least, most]. A part pinned to 0 is allowed (it tells
    that nobody was counted, which harms no one); a 「秘匿」 part pinned to a value ≥ 5 is allowed too (it could have
    been published).
    """
    hidden = primary | secondary
    rest = total - sum(v for k, v in parts.items() if k not in hidden)
    bounds = {k: (0, THRESHOLD - 1) if k in primary else (THRESHOLD, max(THRESHOLD, rest)) for k in hidden}
    lo_all = sum(lo for lo, _ in bounds.values())
    hi_all = sum(hi for _, hi in bounds.values())
    for k in primary:
        lo, hi = bounds[k]
        least = max(lo, rest - (hi_all - hi))
        most = min(hi, rest - (lo_all - lo))
        if least >= most and most > 0:
            return True
    return False


def protect_group(total: int, parts: Mapping[str, int], *, additive: bool = True) -> tuple[Cell, dict[str, Cell]]:
    """Publish a total and its breakdown: primary suppression under 5, then complementary suppression."""
    if total < THRESHOLD:
        return LT5, {k: LT5 for k in parts}
    primary = {k for k, v in parts.items() if v < THRESHOLD}
    secondary: set[str] = set()
    total_cell = Cell(total)
    if additive:
        while primary and _pinned(total, parts, primary, secondary):
            shown = sorted((v, k) for k, v in parts.items() if k not in primary and k not in secondary)
            if not shown:
                total_cell = WITHHELD
                break
            secondary.add(shown[0][1])
    out = {k: LT5 if k in primary else WITHHELD if k in secondary else Cell(v) for k, v in parts.items()}
    return total_cell, out


def quantile(hist: Sequence[int], q: float) -> float | None:
    """Estimate a quantile from fixed buckets by linear interpolation inside the bucket that holds it."""
    n = sum(hist)
    if n == 0:
        return None
    rank = q * n
    cum = 0
    for i, c in enumerate(hist):
        if c and cum + c >= rank:
            lo = 0.0 if i == 0 else float(BUCKETS[i - 1])
            if i >= len(BUCKETS):
                return lo
            return lo + (float(BUCKETS[i]) - lo) * ((rank - cum) / c)
        cum += c
    return float(BUCKETS[-1])


def merge_hist(hists: Iterable[Sequence[int]]) -> list[int]:
    out = [0] * (len(BUCKETS) + 1)
    for h in hists:
        for i, c in enumerate(h):
            out[i] += c
    return out


@dataclass
class PublishedDay:
    """One tenant-day as it may be shown: no exact count under 5 anywhere inside."""

    tenant: str
    day: dt.date
    cells: dict[str, Cell]
    breakdowns: dict[str, dict[str, Cell]]
    has_snapshot: bool
    wait_median: float | None = None
    latency_p50: float | None = None
    latency_p95: float | None = None


# Breakdown keys every day publishes, 0 included, so that 「5未満」 cannot be told apart from "nobody". The vocabulary
# is fixed per tenant (never derived from the requested date range): the same day must hide the same cells in every
# file and every view, or two views together would undo the complementary suppression.
BASE_VOCAB: dict[str, tuple[str, ...]] = {
    "consult_category": ("crisis", "suicide", "dv", "child", "living", "general"),
    "alert_kind": (),
    "area": (),
    "subscriber_category": ("rain_flood", "landslide", "surge_wave", "wind_snow", "earthquake", "tsunami", "crime"),
    "language": ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi"),
    "report_opened_category": (),  # categories are the tenant's own (reports: in the tenants file); exact counts
    "report_closed_category": (),
}


def vocabulary(areas: Iterable[str] = ()) -> dict[str, tuple[str, ...]]:
    """The fixed vocabulary, with the tenant's own area codes (its wards, or itself) for the area breakdown."""
    return {**BASE_VOCAB, "area": tuple(sorted(set(areas)))}


def publish_day(stats: DayStats, vocab: Mapping[str, Iterable[str]] = BASE_VOCAB) -> PublishedDay:

    def parts(name: str, raw: dict[str, int]) -> dict[str, int]:
        keys = set(raw) | set(vocab.get(name, ()))
        return {k: raw.get(k, 0) for k in sorted(keys)}

    cells: dict[str, Cell] = {m: people_cell(stats.get(m)) for m in PEOPLE_MEASURES}
    for m in EXACT_MEASURES:
        cells[m] = Cell(stats.get(m))
    breakdowns: dict[str, dict[str, Cell]] = {}
    total, breakdowns["consult_category"] = protect_group(stats.get(R.CONSULT_OPENED), parts("consult_category", stats.breakdown(R.CONSULT_OPENED)))
    cells[R.CONSULT_OPENED] = total
    breakdowns["alert_kind"] = {k: Cell(v) for k, v in parts("alert_kind", stats.breakdown(R.ALERTS)).items()}
    for name in ("report_opened_category", "report_closed_category"):
        breakdowns[name] = {k: Cell(v) for k, v in parts(name, stats.breakdown(BREAKDOWNS[name][0])).items()}
    snap = stats.snapshot
    if snap is not None:
        friends, breakdowns["language"] = protect_group(snap.get(R.SNAP_FRIENDS, 0), parts("language", stats.snap_breakdown(R.SNAP_LANGUAGE)))
        subs = snap.get(R.SNAP_SUBSCRIBERS, 0)
        subs_cell, breakdowns["area"] = protect_group(subs, parts("area", stats.snap_breakdown(R.SNAP_AREA)))
        subs_cell2, breakdowns["subscriber_category"] = protect_group(
            subs, parts("subscriber_category", stats.snap_breakdown(R.SNAP_CATEGORY)), additive=False
        )
        cells[R.SNAP_FRIENDS] = friends
        cells[R.SNAP_SUBSCRIBERS] = subs_cell if subs_cell.state != "exact" else subs_cell2
    wait = stats.histogram(R.WAIT)
    lat = stats.histogram(R.LATENCY)
    return PublishedDay(
        tenant=stats.tenant,
        day=stats.day,
        cells=cells,
        breakdowns=breakdowns,
        has_snapshot=snap is not None,
        wait_median=quantile(wait, 0.5) if sum(wait) >= THRESHOLD else None,
        latency_p50=quantile(lat, 0.5),
        latency_p95=quantile(lat, 0.95),
    )


@dataclass
class Share:
    """A ratio of two published figures; ``approximate`` when either was a partial sum."""

    value: float | None
    approximate: bool = False

    def text(self, lang: str = "ja") -> str:
        if self.value is None:
            return "—"
        pct = f"{self.value * 100:.0f}%"
        return (("≈" if lang == "en" else "約") + pct) if self.approximate else pct


def share(num: Cell, den: Cell) -> Share:
    if den.state not in ("exact", "partial") or den.value == 0 or num.state == "withheld":
        return Share(None)
    n = num.value if num.state in ("exact", "partial") else 0
    return Share(min(1.0, n / den.value), approximate=num.state != "exact" or den.state != "exact")


@dataclass
class PeriodView:
    """Everything a dashboard shows for one scope (a tenant, or ``"all"``) over one period."""

    scope: str
    period: str
    days: list[dt.date]
    series: dict[str, list[Cell | None]]  # per measure, one cell per day (None: no snapshot that day)
    totals: dict[str, Cell]
    breakdowns: dict[str, dict[str, Cell]]
    shares: dict[str, Share]
    wait_median: float | None
    latency_p50: float | None
    latency_p95: float | None
    snapshot_day: dt.date | None
    by_tenant: dict[str, dict[str, Cell]] = field(default_factory=dict)
    # what ``combine`` needs to merge two periods; never rendered (the histograms are raw counts)
    latest: dict[str, PublishedDay] = field(default_factory=dict, repr=False)
    hist: dict[str, list[int]] = field(default_factory=dict, repr=False)


SERIES_MEASURES = PEOPLE_MEASURES + EXACT_MEASURES


def period_view(
    scope: str, period: str, raw: Mapping[str, Sequence[DayStats]], vocab: Mapping[str, Mapping[str, Iterable[str]]] | None = None
) -> PeriodView:
    """Aggregate raw per-tenant days (same dates for every tenant, oldest first) into what the dashboard shows.

    ``vocab`` maps tenant → its fixed vocabulary (``vocabulary(areas)``); tenants not in it get ``BASE_VOCAB``.
    """
    all_stats = [s for days in raw.values() for s in days]
    vocab = vocab or {}
    published = {t: [publish_day(s, vocab.get(t, BASE_VOCAB)) for s in days] for t, days in raw.items()}
    dates = sorted({s.day for s in all_stats})
    index = {d: i for i, d in enumerate(dates)}
    series: dict[str, list[Cell | None]] = {}
    for m in SERIES_MEASURES:
        series[m] = [sum_cells(pubs[index[d]].cells[m] for pubs in published.values()) for d in dates]
    # snapshots: the friends/subscribers series and the latest day that has a snapshot for every tenant with one
    for m in SNAPSHOT_MEASURES:
        col: list[Cell | None] = []
        for i, _d in enumerate(dates):
            cells = [pubs[i].cells[m] for pubs in published.values() if pubs[i].has_snapshot]
            col.append(sum_cells(cells) if cells else None)
        series[m] = col
    totals = {m: sum_cells(c for c in series[m] if c is not None) for m in SERIES_MEASURES}
    latest: dict[str, PublishedDay] = {}
    for t, pubs in published.items():
        with_snap = [p for p in pubs if p.has_snapshot]
        if with_snap:
            latest[t] = with_snap[-1]
    breakdowns: dict[str, dict[str, Cell]] = {}
    for name in ("consult_category", "alert_kind"):
        keys = sorted({k for pubs in published.values() for p in pubs for k in p.breakdowns.get(name, {})})
        missing = _missing(name)
        breakdowns[name] = {k: sum_cells(p.breakdowns[name].get(k, missing) for pubs in published.values() for p in pubs) for k in keys}
    by_tenant = {
        t: {m: sum_cells(p.cells[m] for p in pubs) for m in BY_TENANT_MEASURES}
        for t, pubs in published.items()
    }
    hist = {
        R.WAIT: merge_hist(s.histogram(R.WAIT) for s in all_stats),
        R.LATENCY: merge_hist(s.histogram(R.LATENCY) for s in all_stats),
    }
    return _finish(PeriodView(
        scope=scope, period=period, days=dates, series=series, totals=totals, breakdowns=breakdowns, shares={},
        wait_median=None, latency_p50=None, latency_p95=None, snapshot_day=None, by_tenant=by_tenant, latest=latest, hist=hist,
    ))


BY_TENANT_MEASURES = (R.MESSAGES, R.CONSULT_OPENED, R.ALERTS)


def _missing(breakdown: str) -> Cell:
    return Cell(0) if breakdown == "alert_kind" else LT5  # alert counts are exact; a missing people-count is hidden


def _finish(view: PeriodView) -> PeriodView:
    """Derive what follows from the additive parts: snapshot figures, shares, quantiles."""
    latest = view.latest
    totals = view.totals
    for m in SNAPSHOT_MEASURES:
        totals[m] = sum_cells(p.cells[m] for p in latest.values()) if latest else Cell(0, "partial")
    for name in ("area", "subscriber_category", "language"):
        keys = sorted({k for p in latest.values() for k in p.breakdowns.get(name, {})})
        view.breakdowns[name] = {k: sum_cells(p.breakdowns[name][k] for p in latest.values() if k in p.breakdowns[name]) for k in keys}
    for t, cells in view.by_tenant.items():
        cells[R.SNAP_FRIENDS] = latest[t].cells[R.SNAP_FRIENDS] if t in latest else Cell(0, "partial")
    view.shares = {
        "faq_resolution": share(totals[R.FAQ_RESOLVED], sum_cells([totals[R.FAQ_ANSWERED], totals[R.FAQ_UNANSWERED]])),
        "faq_up": share(totals[R.FAQ_UP], sum_cells([totals[R.FAQ_UP], totals[R.FAQ_DOWN]])),
        "outside_hours": share(totals[R.CONSULT_OUTSIDE], totals[R.CONSULT_OPENED]),
    }
    wait, lat = view.hist[R.WAIT], view.hist[R.LATENCY]
    view.wait_median = quantile(wait, 0.5) if sum(wait) >= THRESHOLD else None
    view.latency_p50 = quantile(lat, 0.5)
    view.latency_p95 = quantile(lat, 0.95)
    view.snapshot_day = max((p.day for p in latest.values()), default=None)
    return view


def combine(older: PeriodView, newer: PeriodView) -> PeriodView:
    """The view of ``older.days + newer.days`` from the two views (same scope and tenants).

    Lets the web layer keep the past days of a period for the whole day and re-read only today every minute;
    ``combine(period_view(a), period_view(b)) == period_view(a + b)`` (tested).
    """
    if not older.days:
        return newer
    if not newer.days:
        return older

    def add(a: Cell, b: Cell) -> Cell:
        return sum_cells([a, b])

    breakdowns: dict[str, dict[str, Cell]] = {}
    for name in ("consult_category", "alert_kind"):
        a, b = older.breakdowns.get(name, {}), newer.breakdowns.get(name, {})
        breakdowns[name] = {k: add(a.get(k, _missing(name)), b.get(k, _missing(name))) for k in sorted(set(a) | set(b))}
    by_tenant = {
        t: {m: add(older.by_tenant[t][m], newer.by_tenant[t][m]) for m in BY_TENANT_MEASURES}
        for t in older.by_tenant
    }
    return _finish(PeriodView(
        scope=newer.scope,
        period=newer.period,
        days=older.days + newer.days,
        series={m: older.series[m] + newer.series[m] for m in newer.series},
        totals={m: add(older.totals[m], newer.totals[m]) for m in SERIES_MEASURES},
        breakdowns=breakdowns,
        shares={},
        wait_median=None,
        latency_p50=None,
        latency_p95=None,
        snapshot_day=None,
        by_tenant=by_tenant,
        latest={**older.latest, **newer.latest},
        hist={k: merge_hist([older.hist[k], newer.hist[k]]) for k in newer.hist},
    ))


def rollup_area(cells: Mapping[str, Cell], parent_of: Mapping[str, str]) -> dict[str, Cell]:
    """Sum ward cells into their city (大阪市, 堺市) for the prefecture map; derived, so hidden wards make it partial."""
    grouped: dict[str, list[Cell]] = {}
    for code, cell in cells.items():
        grouped.setdefault(parent_of.get(code, code), []).append(cell)
    return {code: sum_cells(cs) for code, cs in grouped.items()}
