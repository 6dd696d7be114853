"""Open-data files: the published daily cells as CSV and JSON, with their schema, under CC BY 4.0.

One column list (``COLUMNS``) drives the CSV header, the JSON rows and ``schema.json``, so the three cannot drift.
A count column holds an integer, 「5未満」 (fewer than 5 people; the exact count is never published) or 「秘匿」
(withheld so that a 「5未満」 cell cannot be recovered from a total). Rows are one tenant-day each; a prefecture-wide
file is the tenants' rows together — never an exact sum over tenants (see ``kpi.aggregate``).

Reports (通報) opened and closed are counts of reports, published exactly with a breakdown by category: each report
is already public in Open311 GeoReport v2 with its category and dates (no comment, no reporter, location blurred).

Daily follows/blocks (``friends_added``/``friends_removed``) are recorded but not published: next to the daily
friends count they would pin small flows (friends 37 → 33 with both flows 「5未満」 means 4 blocks, 0 follows).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kpi import recorder as R
from kpi.aggregate import LT5_JA, WITHHELD_JA, PublishedDay

LICENSE = {
    "name": "CC BY 4.0",
    "url": "https://creativecommons.org/licenses/by/4.0/deed.ja",
    "attribution_ja": "出典：大阪府 LINE 行政チャットボット 利用統計（{publisher}）",
    "notice_ja": "このデータはクリエイティブ・コモンズ 表示 4.0 国際 ライセンス（CC BY 4.0）の下に提供されています。",
    "notice_en": "This data is licensed under the Creative Commons Attribution 4.0 International licence (CC BY 4.0).",
}
SCHEMA_VERSION = "1.1"  # 1.1: reports_opened / reports_closed and their category breakdowns (added at the end)


@dataclass(frozen=True)
class Column:
    name: str
    title_ja: str
    title_en: str
    kind: str  # "code" | "string" | "date" | "count" | "exact_count" | "seconds"
    description_en: str
    source: str = ""  # measure name in kpi.recorder


COLUMNS: tuple[Column, ...] = (
    Column("lg_code", "全国地方公共団体コード", "Local government code", "code", "6-digit code (JIS X 0402 with check digit)."),
    Column("municipality", "地方公共団体名", "Municipality", "string", "Name of the municipality running the channel."),
    Column("tenant_id", "チャネルID", "Tenant id", "string", "Short id of the municipality's LINE channel in this service."),
    Column("date", "日付", "Date", "date", "Calendar day in Japan Standard Time (YYYY-MM-DD)."),
    Column("friends", "友だち数", "LINE friends", "count", "Friends of the channel at the day's last snapshot; empty when none was taken.", R.SNAP_FRIENDS),
    Column("subscribers", "防災情報の登録者数", "Alert subscribers", "count", "Residents subscribed to alerts at the day's last snapshot.", R.SNAP_SUBSCRIBERS),
    Column("messages", "受信メッセージ数", "Messages received", "count", "Messages and button presses received from residents.", R.MESSAGES),
    Column("faq_answered", "FAQ回答数", "FAQ answers", "count", "Questions answered from the FAQ.", R.FAQ_ANSWERED),
    Column("faq_resolved", "FAQ自己解決数", "FAQ self-resolved", "count", "FAQ answers after which the resident needed no further help.", R.FAQ_RESOLVED),
    Column("faq_unanswered", "FAQ未回答数", "FAQ unanswered", "count", "Questions the FAQ could not answer (counts only, never the text).", R.FAQ_UNANSWERED),
    Column("faq_feedback_up", "役に立った評価数", "Rated helpful", "count", "Residents' 👍 on an FAQ answer.", R.FAQ_UP),
    Column("faq_feedback_down", "役に立たなかった評価数", "Rated not helpful", "count", "Residents' 👎 on an FAQ answer.", R.FAQ_DOWN),
    Column("consultations", "相談件数", "Consultations", "count", "Conversations handed to a counsellor.", R.CONSULT_OPENED),
    Column("consultations_outside_hours", "時間外の相談件数", "Consultations outside office hours", "count", "Consultations requested outside office hours.", R.CONSULT_OUTSIDE),
    Column("consultations_taken", "対応開始件数", "Consultations taken", "count", "Consultations a counsellor took over that day.", R.CONSULT_TAKEN),
    Column("consultation_wait_median_seconds", "対応開始までの待ち時間（中央値・秒）", "Median wait (s)", "seconds", "Median wait until a counsellor took over; empty when fewer than 5.", R.WAIT),
    Column("alerts", "防災情報の配信件数", "Alerts delivered", "exact_count", "JMA alerts and notices delivered (not a count of people: exact).", R.ALERTS),
    Column("alert_recipients", "防災情報の延べ受信者数", "Alert recipients", "count", "Sum of recipients over the day's alerts.", R.ALERT_RECIPIENTS),
    Column("alert_latency_p50_seconds", "配信遅延 p50（秒）", "Alert latency p50 (s)", "seconds", "From JMA's report time to the last recipient, median.", R.LATENCY),
    Column("alert_latency_p95_seconds", "配信遅延 p95（秒）", "Alert latency p95 (s)", "seconds", "From JMA's report time to the last recipient, 95th percentile.", R.LATENCY),
    Column("broadcasts", "一斉配信件数", "Broadcasts", "exact_count", "Staff broadcasts sent (exact).", R.BROADCASTS),
    Column("broadcast_recipients", "一斉配信の延べ受信者数", "Broadcast recipients", "count", "Sum of recipients over the day's broadcasts.", R.BROADCAST_RECIPIENTS),
    Column("reminders", "ごみ出しリマインダーの配信件数", "Garbage reminders", "exact_count", "Garbage collection reminders sent (exact).", R.REMINDERS),
    Column("reminder_recipients", "ごみ出しリマインダーの延べ受信者数", "Reminder recipients", "count", "Sum of recipients over the day's garbage reminders.", R.REMINDER_RECIPIENTS),
    Column("reports_opened", "通報の受付件数", "Reports opened", "exact_count", "Reports (通報: roads, lights, parks…) filed from LINE or Open311 (exact: each report is public in Open311).", R.REPORTS_OPENED),
    Column("reports_closed", "通報の完了件数", "Reports closed", "exact_count", "Reports moved to 完了 (fixed) or 対応できません (declined) that day (exact).", R.REPORTS_CLOSED),
)
HEADER: tuple[str, ...] = tuple(c.name for c in COLUMNS)
BREAKDOWN_NAMES = (
    "consult_category",
    "alert_kind",
    "area",
    "subscriber_category",
    "language",
    "report_opened_category",
    "report_closed_category",
)


@dataclass(frozen=True)
class TenantInfo:
    id: str
    lg_code: str
    name: str


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def row(day: PublishedDay, info: TenantInfo) -> dict[str, Any]:
    """One tenant-day in ``COLUMNS`` order (the CSV header order and the JSON key order)."""
    seconds = {
        "consultation_wait_median_seconds": day.wait_median,
        "alert_latency_p50_seconds": day.latency_p50,
        "alert_latency_p95_seconds": day.latency_p95,
    }
    fixed = {"lg_code": info.lg_code, "municipality": info.name, "tenant_id": info.id, "date": day.day.isoformat()}
    out: dict[str, Any] = {}
    for col in COLUMNS:
        if col.name in fixed:
            out[col.name] = fixed[col.name]
        elif col.kind == "seconds":
            out[col.name] = _seconds(seconds[col.name])
        else:
            cell = day.cells.get(col.source)
            out[col.name] = None if cell is None else cell.public()
    return out


def json_document(days: Iterable[tuple[PublishedDay, TenantInfo]], *, publisher: str, generated_at: str, base_url: str = "") -> dict[str, Any]:
    rows = []
    for day, info in days:
        r = row(day, info)
        r["breakdowns"] = {name: {k: c.public() for k, c in day.breakdowns.get(name, {}).items()} for name in BREAKDOWN_NAMES}
        rows.append(r)
    return {
        "schema": f"{base_url}/opendata/schema.json",
        "schema_version": SCHEMA_VERSION,
        "license": {**LICENSE, "attribution_ja": LICENSE["attribution_ja"].format(publisher=publisher)},
        "publisher": publisher,
        "generated_at": generated_at,
        "rows": rows,
    }


def csv_text(days: Iterable[tuple[PublishedDay, TenantInfo]]) -> str:
    """UTF-8 CSV with a BOM (opens correctly in Excel, as Japanese open-data portals recommend)."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.DictWriter(buf, fieldnames=list(HEADER), lineterminator="\r\n")
    writer.writeheader()
    for day, info in days:
        writer.writerow({k: ("" if v is None else v) for k, v in row(day, info).items()})
    return buf.getvalue()


def schema(base_url: str = "") -> dict[str, Any]:
    """A Frictionless-style table schema (fields, types, missing values) plus the licence and privacy rule."""
    count_type = {"anyOf": [{"type": "integer", "minimum": 5}, {"enum": [LT5_JA, WITHHELD_JA]}, {"type": "null"}]}
    type_of = {
        "code": {"type": "string", "pattern": r"^\d{5,6}$"},
        "string": {"type": "string"},
        "date": {"type": "string", "format": "date"},
        "count": count_type,
        "exact_count": {"type": "integer", "minimum": 0},
        "seconds": {"type": ["number", "null"], "minimum": 0},
    }
    fields = []
    for c in COLUMNS:
        f = {"name": c.name, "title": c.title_ja, "title_en": c.title_en, "kind": c.kind, "description": c.description_en, "json_schema": type_of[c.kind]}
        if c.source in (R.SNAP_FRIENDS, R.SNAP_SUBSCRIBERS):
            f["null_when"] = "no snapshot was taken that day"
        elif c.kind == "seconds":
            f["null_when"] = "too few events to publish the figure"
        fields.append(f)
    return {
        "schema_version": SCHEMA_VERSION,
        "title": "LINE行政チャットボット 日次利用統計",
        "title_en": "LINE civic chatbot — daily usage statistics",
        "license": LICENSE,
        "privacy": {
            "rule_ja": "人数を数えるセルが5未満の場合は「5未満」と表示し、正確な数は公開しません。合計から逆算できないよう、必要に応じて他のセルも「秘匿」とします。メッセージ本文や利用者IDは含みません。",
            "rule_en": "Any count of people under 5 is published as 「5未満」, never exactly; further cells are 「秘匿」 (withheld) where a total would otherwise reveal a suppressed one. No message text, no user ids.",
            "suppressed_values": [LT5_JA, WITHHELD_JA],
        },
        "files": {
            "csv": {
                "url_tenant": f"{base_url}/opendata/{{tenant}}/daily.csv",
                "url_all": f"{base_url}/opendata/daily.csv",
                "encoding": "utf-8 (with BOM)",
                "delimiter": ",",
                "header": list(HEADER),
                "missing_values": [""],
            },
            "json": {
                "url_tenant": f"{base_url}/opendata/{{tenant}}/daily.json",
                "url_all": f"{base_url}/opendata/daily.json",
                "top_level": ["schema", "schema_version", "license", "publisher", "generated_at", "rows"],
                "row_fields": list(HEADER) + ["breakdowns"],
                "breakdowns": {
                    "consult_category": "consultations by category (daily cells, same rule)",
                    "alert_kind": "alerts by kind (exact)",
                    "area": "subscribers by municipality/ward code (JIS X 0402, 5 digits), snapshot",
                    "subscriber_category": "subscribers by alert category, snapshot (a resident may choose several)",
                    "language": "friends by language, snapshot",
                    "report_opened_category": "reports opened by the tenant's category id (reports: in its settings), exact",
                    "report_closed_category": "reports closed or declined by category id, exact",
                },
                "missing_values": [None],
            },
        },
        "fields": fields,
        "query": {"from": "YYYY-MM-DD (default: 365 days before to)", "to": "YYYY-MM-DD (default: today, JST)"},
    }


def tenant_infos(tenants: Mapping[str, Any]) -> dict[str, TenantInfo]:
    """From bot.config.Tenant-like objects (id, lg_code, display_name)."""
    return {tid: TenantInfo(id=tid, lg_code=t.lg_code, name=t.display_name) for tid, t in tenants.items()}


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1)
