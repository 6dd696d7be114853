"""Subscription categories: the ids residents choose and ``AudienceQuery.categories`` carries.

Earthquakes carry the resident's 震度 threshold inside the id (``earthquake:3``, ``earthquake:4``,
``earthquake:5-``) so a single set-membership lookup answers "who wants to hear about 震度4 here":
an alert for 震度4 targets ``earthquake_targets(4)`` = ``("earthquake:3", "earthquake:4")``.
"""

from __future__ import annotations

RAIN_FLOOD = "rain_flood"
LANDSLIDE = "landslide"
SURGE_WAVE = "surge_wave"
WIND_SNOW = "wind_snow"
EARTHQUAKE = "earthquake"
TSUNAMI = "tsunami"
CRIME = "crime"

CATEGORIES: tuple[str, ...] = (RAIN_FLOOD, LANDSLIDE, SURGE_WAVE, WIND_SNOW, EARTHQUAKE, TSUNAMI, CRIME)
DEFAULT_CATEGORIES: tuple[str, ...] = (RAIN_FLOOD, LANDSLIDE, SURGE_WAVE, WIND_SNOW, EARTHQUAKE, TSUNAMI)

LABELS_JA = {
    RAIN_FLOOD: "大雨・洪水",
    LANDSLIDE: "土砂災害",
    SURGE_WAVE: "高潮・波浪",
    WIND_SNOW: "暴風・大雪",
    EARTHQUAKE: "地震",
    TSUNAMI: "津波",
    CRIME: "防犯・子どもの安全",
}

# 震度 thresholds a resident can pick, as JMA writes them; the number is the comparable rank.
INTENSITY_THRESHOLDS: dict[str, int] = {"3": 3, "4": 4, "5-": 5}
THRESHOLD_LABELS_JA = {"3": "震度3以上", "4": "震度4以上", "5-": "震度5弱以上"}
DEFAULT_THRESHOLD = "4"

# JMA 震度 classes → rank (5- = 5弱 ... 7). Ranks ≥ 5 are emergencies.
INTENSITY_RANK: dict[str, int] = {"1": 1, "2": 2, "3": 3, "4": 4, "5-": 5, "5+": 6, "6-": 7, "6+": 8, "7": 9}


def earthquake_category(threshold: str) -> str:
    if threshold not in INTENSITY_THRESHOLDS:
        raise ValueError(f"unknown 震度 threshold {threshold!r}")
    return f"{EARTHQUAKE}:{threshold}"


def earthquake_targets(rank: int) -> tuple[str, ...]:
    """Category ids of everyone whose threshold is reached by an intensity of this rank."""
    return tuple(earthquake_category(t) for t, r in INTENSITY_THRESHOLDS.items() if r <= rank)


def lift_category(category: str) -> str:
    """Residents who also want to hear when a warning of this category is lifted (解除) are indexed here."""
    return f"{category}:lift"


def membership_categories(categories: tuple[str, ...] | list[str], threshold: str, notify_lift: bool = False) -> list[str]:
    """What a subscription is indexed under: its categories, ``earthquake`` refined by the threshold, and the
    ``:lift`` variants of warning categories when the resident asked for 解除 notices."""
    out = []
    for c in categories:
        out.append(earthquake_category(threshold) if c == EARTHQUAKE else c)
        if notify_lift and c in (RAIN_FLOOD, LANDSLIDE, SURGE_WAVE, WIND_SNOW):
            out.append(lift_category(c))
    return out


def expand_query_categories(categories: tuple[str, ...]) -> tuple[str, ...]:
    """A bare ``earthquake`` in a query means every threshold (staff broadcasts to 地震 subscribers)."""
    out: list[str] = []
    for c in categories:
        if c == EARTHQUAKE:
            out += [earthquake_category(t) for t in INTENSITY_THRESHOLDS]
        else:
            out.append(c)
    return tuple(dict.fromkeys(out))
