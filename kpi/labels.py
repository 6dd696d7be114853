"""Dashboard wording, Japanese first with English. Unknown ids fall back to the id itself (never an error)."""

from __future__ import annotations

UI: dict[str, dict[str, str]] = {
    "title": {"ja": "LINE行政チャットボット 利用状況ダッシュボード", "en": "LINE civic chatbot — public dashboard"},
    "all": {"ja": "大阪府全体", "en": "All of Osaka Prefecture"},
    "scope": {"ja": "対象", "en": "Scope"},
    "period": {"ja": "期間", "en": "Period"},
    "today": {"ja": "今日", "en": "Today"},
    "7d": {"ja": "7日間", "en": "7 days"},
    "30d": {"ja": "30日間", "en": "30 days"},
    "365d": {"ja": "1年間", "en": "1 year"},
    "friends": {"ja": "友だち数", "en": "LINE friends"},
    "subscribers": {"ja": "防災情報の登録者", "en": "Alert subscribers"},
    "messages": {"ja": "受信メッセージ", "en": "Messages received"},
    "messages_per_day": {"ja": "1日あたりの受信メッセージ数", "en": "Messages per day"},
    "friends_trend": {"ja": "友だち数の推移", "en": "LINE friends over time"},
    "faq": {"ja": "よくある質問（FAQ）", "en": "FAQ self-service"},
    "faq_answered": {"ja": "FAQで回答", "en": "Answered by the FAQ"},
    "faq_unanswered": {"ja": "回答できなかった質問", "en": "Questions not answered"},
    "faq_resolution": {"ja": "自己解決率", "en": "Self-resolution rate"},
    "faq_up": {"ja": "「役に立った」の割合", "en": "Rated helpful"},
    "faq_feedback": {"ja": "評価（役に立った / 立たなかった）", "en": "Feedback (helpful / not helpful)"},
    "consult": {"ja": "相談", "en": "Consultations"},
    "consultations": {"ja": "相談件数", "en": "Consultations"},
    "by_category": {"ja": "分類別の相談件数", "en": "Consultations by category"},
    "wait_median": {"ja": "対応開始までの待ち時間（中央値）", "en": "Median wait for a counsellor"},
    "outside_hours": {"ja": "時間外の割合", "en": "Outside office hours"},
    "alerts": {"ja": "防災情報の配信", "en": "Alerts"},
    "alerts_count": {"ja": "配信件数", "en": "Alerts delivered"},
    "alert_recipients": {"ja": "延べ受信者数", "en": "Recipients (total)"},
    "by_kind": {"ja": "種類別の配信件数", "en": "Alerts by kind"},
    "latency": {"ja": "配信にかかった時間（気象庁の発表から最後の受信者まで）", "en": "Delivery time (from JMA's report to the last recipient)"},
    "broadcasts": {"ja": "お知らせの一斉配信", "en": "Broadcasts"},
    "broadcast_count": {"ja": "配信回数", "en": "Broadcasts sent"},
    "broadcast_recipients": {"ja": "延べ受信者数", "en": "Recipients (total)"},
    "reminders": {"ja": "ごみ出しリマインダー", "en": "Garbage reminders"},
    "reminder_count": {"ja": "配信回数", "en": "Reminders sent"},
    "reminder_recipients": {"ja": "延べ受信者数", "en": "Recipients (total)"},
    "subscribers_map": {"ja": "市町村別の登録者数", "en": "Subscribers by municipality"},
    "by_area": {"ja": "地域別の登録者数", "en": "Subscribers by area"},
    "by_language": {"ja": "言語別の友だち数", "en": "Friends by language"},
    "by_subscriber_category": {"ja": "情報の種類別の登録者数", "en": "Subscribers by alert type"},
    "by_tenant": {"ja": "市町村別", "en": "By municipality"},
    "municipality": {"ja": "市町村", "en": "Municipality"},
    "no_data": {"ja": "データがありません", "en": "No data yet"},
    "snapshot_of": {"ja": "{day}時点", "en": "as of {day}"},
    "privacy": {
        "ja": "人数が5未満のセルは「5未満」と表示し、正確な数は公開しません。合計から逆算できないよう「秘匿」とするセルもあります。"
        "期間の合計は公開しているセルだけの合計で、「以上」と付いたものは実際にはそれより多いことを表します。メッセージの本文や利用者IDは一切含みません。",
        "en": "Any count of people under 5 is shown as “<5”, never exactly; some other cells are withheld so that totals cannot reveal them. "
        "Period totals add up the published cells only: “≥” means the true figure is higher. No message text or user ids are ever included.",
    },
    "opendata": {"ja": "オープンデータ（CSV・JSON）", "en": "Open data (CSV, JSON)"},
    "license": {
        "ja": "データはクリエイティブ・コモンズ 表示 4.0 国際（CC BY 4.0）で提供しています。",
        "en": "Data licensed under Creative Commons Attribution 4.0 International (CC BY 4.0).",
    },
    "map_attribution": {"ja": "地図の位置：Geolonia 住所データ（CC BY 4.0）を加工して作成", "en": "Map positions: derived from Geolonia address data (CC BY 4.0)"},
    "legend_lt5": {"ja": "斜線：5未満・秘匿", "en": "Hatched: <5 or withheld"},
    "updated": {"ja": "更新", "en": "Updated"},
    "lang_switch": {"ja": "English", "en": "日本語"},
    "seconds": {"ja": "{n}秒", "en": "{n} s"},
    "minutes": {"ja": "{n}分", "en": "{n} min"},
    "hours": {"ja": "{n}時間", "en": "{n} h"},
    "schema": {"ja": "データ項目の説明（schema.json）", "en": "Field descriptions (schema.json)"},
    "opendata_title": {"ja": "オープンデータ：LINE行政チャットボット 日次利用統計", "en": "Open data: LINE civic chatbot daily statistics"},
    "file_all": {"ja": "全市町村", "en": "All municipalities"},
}

CONSULT_CATEGORIES = {
    "crisis": ("緊急", "Crisis"),
    "suicide": ("こころの相談", "Mental health"),
    "dv": ("DV・暴力", "Domestic violence"),
    "child": ("子ども・子育て", "Children"),
    "living": ("くらし", "Daily life"),
    "general": ("一般", "General"),
    "other": ("その他", "Other"),
}
ALERT_KINDS = {
    "weather_warning": ("気象警報", "Weather warnings"),
    "landslide_warning": ("土砂災害警戒情報", "Landslide alerts"),
    "record_rain": ("記録的短時間大雨情報", "Record short-term rain"),
    "earthquake": ("地震", "Earthquakes"),
    "tsunami": ("津波", "Tsunami"),
    "crime": ("防犯・子どもの安全", "Crime & child safety"),
    "police": ("防犯・子どもの安全", "Crime & child safety"),
    "VPWW55": ("大雨", "Heavy rain"),
    "VPWW56": ("土砂災害", "Landslide"),
    "VPWW57": ("高潮", "Storm surge"),
    "VPWW58": ("暴風", "Storm"),
    "VPWW59": ("波浪", "High waves"),
    "VPWW60": ("大雪", "Heavy snow"),
    "VPWW61": ("その他の警報", "Other warnings"),
    "VXWW50": ("土砂災害警戒情報", "Landslide alert"),
    "VPOA50": ("記録的短時間大雨", "Record rain"),
    "VXSE51": ("震度速報", "Seismic intensity"),
    "VXSE52": ("震源情報", "Epicentre"),
    "VXSE53": ("地震情報", "Earthquake"),
    "VTSE41": ("津波警報・注意報", "Tsunami warning"),
    "VTSE51": ("津波情報", "Tsunami information"),
}
SUBSCRIBER_CATEGORIES = {
    "rain_flood": ("大雨・洪水", "Rain & floods"),
    "landslide": ("土砂災害", "Landslides"),
    "surge_wave": ("高潮・波浪", "Surge & waves"),
    "wind_snow": ("暴風・大雪", "Wind & snow"),
    "earthquake": ("地震", "Earthquakes"),
    "tsunami": ("津波", "Tsunami"),
    "crime": ("防犯・子どもの安全", "Crime & child safety"),
}
LANGUAGES = {
    "ja": ("日本語", "Japanese"),
    "ja-easy": ("やさしい日本語", "Easy Japanese"),
    "en": ("英語", "English"),
    "zh-Hans": ("中国語（簡体字）", "Chinese (Simplified)"),
    "ko": ("韓国語", "Korean"),
    "vi": ("ベトナム語", "Vietnamese"),
}
BREAKDOWN_LABELS = {
    "consult_category": CONSULT_CATEGORIES,
    "alert_kind": ALERT_KINDS,
    "subscriber_category": SUBSCRIBER_CATEGORIES,
    "language": LANGUAGES,
}


def lang_of(value: str | None) -> str:
    return "en" if value == "en" else "ja"


def t(key: str, lang: str, **kw: object) -> str:
    entry = UI.get(key)
    text = entry.get(lang, entry["ja"]) if entry else key
    return text.format(**kw) if kw else text


def key_label(breakdown: str, key: str, lang: str) -> str:
    if key.startswith("earthquake:"):
        key = "earthquake"
    pair = BREAKDOWN_LABELS.get(breakdown, {}).get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def duration(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return t("seconds", lang, n=f"{seconds:.0f}")
    if seconds < 7200:
        return t("minutes", lang, n=f"{seconds / 60:.0f}")
    return t("hours", lang, n=f"{seconds / 3600:.1f}")

