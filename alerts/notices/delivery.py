"""Incident → the short resident message in each language → one ``DeliveryJob`` for the delivery engine.

What residents read is what the police published, no more: the place stops at 町丁目 (the notice's 番 and
landmarks are dropped; a notice naming only a city says only the city), the suspect description and the advice
are quoted as published (in Japanese — we do not machine-translate a suspect description; the labels around
them are translated), and the source line 出典：大阪府警察 is always there.
"""

from __future__ import annotations

import datetime as dt

from alerts.categories import CRIME
from alerts.notices.model import JST, KINDS, Incident
from bot.chat import qr_message, text
from broadcasts.audience import AudienceQuery
from broadcasts.jobs import DeliveryJob

LANGUAGES = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi")
NEARBY_QUESTION = "近くで不審者情報ある？"

KIND_LABELS: dict[str, dict[str, str]] = {
    "koekake": {"ja": "声かけ", "ja-easy": "こえかけ（しらない ひとが こえを かけた）", "en": "Stranger approaching (声かけ)",
                "zh-Hans": "陌生人搭话（声かけ）", "ko": "낯선 사람의 말 걸기(声かけ)", "vi": "Người lạ bắt chuyện (声かけ)"},
    "tsukimatoi": {"ja": "つきまとい", "ja-easy": "つきまとい（あとを ついて きた）", "en": "Following / stalking (つきまとい)",
                   "zh-Hans": "尾随（つきまとい）", "ko": "따라다니기(つきまとい)", "vi": "Đeo bám, theo dõi (つきまとい)"},
    "tousatsu": {"ja": "盗撮", "ja-easy": "とうさつ（かくれて しゃしんを とった）", "en": "Secret filming (盗撮)",
                 "zh-Hans": "偷拍（盗撮）", "ko": "몰래 촬영(盗撮)", "vi": "Quay/chụp lén (盗撮)"},
    "satsuei": {"ja": "写真撮影", "ja-easy": "しゃしんを とられた", "en": "Photographing children (写真撮影)",
                "zh-Hans": "拍照（写真撮影）", "ko": "사진 촬영(写真撮影)", "vi": "Chụp ảnh trẻ em (写真撮影)"},
    "roshutsu": {"ja": "露出", "ja-easy": "はだかを みせた（露出）", "en": "Indecent exposure (露出)",
                 "zh-Hans": "露阴（露出）", "ko": "신체 노출(露出)", "vi": "Phô bày khiếm nhã (露出)"},
    "chikan": {"ja": "痴漢", "ja-easy": "ちかん", "en": "Groping (痴漢)", "zh-Hans": "猥亵（痴漢）", "ko": "성추행(痴漢)",
               "vi": "Sàm sỡ (痴漢)"},
    "boukou": {"ja": "暴行", "ja-easy": "ぼうこう（たたかれた など）", "en": "Assault (暴行)", "zh-Hans": "暴力（暴行）",
               "ko": "폭행(暴行)", "vi": "Hành hung (暴行)"},
    "hittakuri": {"ja": "ひったくり", "ja-easy": "ひったくり（にもつを とられた）", "en": "Bag snatching (ひったくり)",
                  "zh-Hans": "抢夺（ひったくり）", "ko": "날치기(ひったくり)", "vi": "Giật đồ (ひったくり)"},
    "goutou": {"ja": "路上強盗", "ja-easy": "みちで おかねを とられた", "en": "Street robbery (路上強盗)",
               "zh-Hans": "街头抢劫（路上強盗）", "ko": "노상강도(路上強盗)", "vi": "Cướp trên đường (路上強盗)"},
    "nozoki": {"ja": "のぞき", "ja-easy": "のぞき", "en": "Peeping (のぞき)", "zh-Hans": "偷窥（のぞき）", "ko": "엿보기(のぞき)",
               "vi": "Nhìn trộm (のぞき)"},
    "fushinsha": {"ja": "不審者", "ja-easy": "あやしい ひと", "en": "Suspicious person (不審者)", "zh-Hans": "可疑人员（不審者）",
                  "ko": "수상한 사람(不審者)", "vi": "Người khả nghi (不審者)"},
}

LABELS: dict[str, dict[str, str]] = {
    "ja": {"title": "【防犯・子どもの安全】", "when": "日時", "where": "場所", "suspect": "特徴", "advice": "警察から",
           "near": "付近", "unknown": "不明", "source": "出典：{src}", "qr": "近くの不審者情報"},
    "ja-easy": {"title": "【あぶない ひとの じょうほう】", "when": "いつ", "where": "どこ", "suspect": "どんな ひと",
                "advice": "けいさつから", "near": "の ちかく", "unknown": "わかりません", "source": "出典：{src}", "qr": "ちかくの じょうほう"},
    "en": {"title": "[Safety alert] ", "when": "When", "where": "Where", "suspect": "Suspect (as published, Japanese)",
           "advice": "Police advice (Japanese)", "near": " (around)", "unknown": "unknown",
           "source": "Source: 出典：{src}", "qr": "Nearby incidents"},
    "zh-Hans": {"title": "【防范·儿童安全】", "when": "时间", "where": "地点", "suspect": "特征（警方原文）",
                "advice": "警方提醒（原文）", "near": "附近", "unknown": "不明", "source": "来源：出典：{src}", "qr": "附近的可疑人员信息"},
    "ko": {"title": "【방범·어린이 안전】", "when": "일시", "where": "장소", "suspect": "특징(경찰 발표 원문)",
           "advice": "경찰 안내(원문)", "near": " 부근", "unknown": "불명", "source": "출처: 出典：{src}", "qr": "근처 수상한 사람 정보"},
    "vi": {"title": "[Cảnh báo an ninh] ", "when": "Thời gian", "where": "Địa điểm", "suspect": "Đặc điểm (nguyên văn cảnh sát)",
           "advice": "Lời khuyên của cảnh sát (nguyên văn)", "near": " (khu vực lân cận)", "unknown": "không rõ",
           "source": "Nguồn: 出典：{src}", "qr": "Tin gần đây"},
}
_WEEKDAYS = {
    "ja": "月火水木金土日", "ja-easy": "月火水木金土日", "zh-Hans": "一二三四五六日", "ko": "월화수목금토일",
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "vi": ["T2", "T3", "T4", "T5", "T6", "T7", "CN"],
}


def format_when(occurred_at: str | None, time_known: bool, lang: str) -> str:
    if not occurred_at:
        return LABELS[lang]["unknown"]
    t = dt.datetime.fromisoformat(occurred_at).astimezone(JST)
    wd = _WEEKDAYS[lang][t.weekday()]
    h12 = t.hour % 12 or 12
    if lang in ("ja", "ja-easy"):
        date = f"{t.month}月{t.day}日({wd})"
        if not time_known:
            return date
        ampm = "午前" if t.hour < 12 else "午後"
        if lang == "ja-easy":
            ampm = "ごぜん" if t.hour < 12 else "ごご"
            return f"{date} {ampm}{h12}じ{f'{t.minute}ふん' if t.minute else ''} ごろ"
        return f"{date} {ampm}{h12}時{f'{t.minute}分' if t.minute else ''}ごろ"
    if lang == "zh-Hans":
        return f"{t.month}月{t.day}日(周{wd})" + (f" {t.hour}:{t.minute:02d}左右" if time_known else "")
    if lang == "ko":
        return f"{t.month}월 {t.day}일({wd})" + (f" {'오전' if t.hour < 12 else '오후'} {h12}시 {t.minute}분경" if time_known else "")
    if lang == "vi":
        return (f"khoảng {t.hour}:{t.minute:02d} " if time_known else "") + f"{wd}, {t.day}/{t.month}"
    month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][t.month - 1]
    return f"{wd} {t.day} {month}" + (f", around {h12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}" if time_known else "")


def place_label(incident: Incident, lang: str, *, name_en: str = "") -> str:
    """Municipality + 町丁目 at most; the notice's 番/landmarks never appear."""
    muni = incident.municipality_name
    if lang in ("en", "vi") and name_en:
        muni = name_en
    if incident.precision == "town" and incident.town:
        if lang in ("en", "vi") and name_en:
            return f"{incident.town}, {muni}{LABELS[lang]['near']}"
        return f"{muni}{incident.town}{LABELS[lang]['near']}"
    return muni or LABELS[lang]["unknown"]


def render(incident: Incident, lang: str, *, name_en: str = "") -> str:
    lb = LABELS[lang]
    sep = ": " if lang in ("en", "vi") else "："
    kind = KIND_LABELS.get(_kind_id(incident), KIND_LABELS["fushinsha"])[lang]
    lines = [
        f"{lb['title']}{kind}",
        f"{lb['when']}{sep}{format_when(incident.occurred_at, incident.time_known, lang)}",
        f"{lb['where']}{sep}{place_label(incident, lang, name_en=name_en)}",
    ]
    if incident.suspect:
        lines.append(f"{lb['suspect']}{sep}{incident.suspect}")
    if incident.advice:
        lines.append(f"{lb['advice']}{sep}{incident.advice}")
    lines.append(lb["source"].format(src=incident.source_name or "大阪府警察"))
    return "\n".join(lines)


def _kind_id(incident: Incident) -> str:
    return KINDS.get(incident.kind, "fushinsha")


def messages_for(incident: Incident, *, name_en: str = "") -> dict[str, list[dict]]:
    """language → LINE messages; each has a quick reply that asks for the other incidents nearby."""
    return {
        lang: [text(render(incident, lang, name_en=name_en), [qr_message(LABELS[lang]["qr"], NEARBY_QUESTION)])]
        for lang in LANGUAGES
    }


def make_job(incident: Incident, *, radius_m: float, name_en: str = "") -> DeliveryJob:
    """One alert-priority job: ``crime`` subscribers within ``radius_m`` of the town, plus the municipality's
    subscribers (see ``alerts.notices.audience.NoticeAudience`` for who "the municipality's" are)."""
    if incident.precision == "none" or not incident.municipality_code:
        raise ValueError("an unplaced incident is not delivered")
    located = incident.precision == "town" and incident.lat is not None
    audience = AudienceQuery(
        tenant=incident.tenant,
        area_codes=(incident.municipality_code,),
        categories=(CRIME,),
        center=(incident.lat, incident.lng) if located else None,
        radius_m=radius_m if located else None,
    )
    where = f"{incident.municipality_name}{incident.town}"
    return DeliveryJob(
        tenant=incident.tenant,
        audience=audience,
        messages=messages_for(incident, name_en=name_en),
        priority="alert",
        kind="police",
        source_id=f"police:{incident.id}",
        reported_at=incident.received_at or None,
        title=f"{incident.kind} {where}"[:60],
    )
