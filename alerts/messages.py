"""Alert texts in ja, やさしい日本語, en, zh-Hans, ko and vi: short, calm, one action, the source.

Every text names the area and the level, says what to do, and ends with 出典：気象庁 and a link. JMA terms are
translated from one table (hazard × class) so 「レベル４大雨危険警報」 always reads the same way in a language.
Place names: ja/ja-easy/zh-Hans use the Japanese names; en/ko/vi use the romanized names shipped in
``alerts/data`` (a Korean or Vietnamese reader can follow "Suita City" more easily than 吹田市).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from alerts.categories import WIND_SNOW
from alerts.geo import Gazetteer
from bot.chat import text

LANGS = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi")
JST = ZoneInfo("Asia/Tokyo")

LINKS = {
    "warning": "https://www.jma.go.jp/bosai/warning/#area_type=offices&area_code=270000",
    "landslide": "https://www.jma.go.jp/bosai/risk/#elements=land",
    "record_rain": "https://www.jma.go.jp/bosai/risk/",
    "earthquake": "https://www.jma.go.jp/bosai/map.html#contents=earthquake_map",
    "tsunami": "https://www.jma.go.jp/bosai/map.html#contents=tsunami",
}
SOURCE = {
    "ja": "出典：気象庁",
    "ja-easy": "出典：気象庁",
    "en": "Source: Japan Meteorological Agency (出典：気象庁)",
    "zh-Hans": "来源：日本气象厅（出典：気象庁）",
    "ko": "출처: 일본 기상청 (出典：気象庁)",
    "vi": "Nguồn: Cơ quan Khí tượng Nhật Bản (出典：気象庁)",
}

# hazard words in JMA names, longest first (暴風雪 before 暴風)
HAZARDS = {
    "暴風雪": {"ja-easy": "ふぶき", "en": "snowstorm", "zh-Hans": "暴风雪", "ko": "폭풍설", "vi": "bão tuyết"},
    "土砂災害": {"ja-easy": "どしゃさいがい（がけくずれ）", "en": "landslide", "zh-Hans": "泥石流・山体滑坡", "ko": "토사 재해", "vi": "sạt lở đất"},
    "大雨": {"ja-easy": "おおあめ", "en": "heavy rain", "zh-Hans": "暴雨", "ko": "호우", "vi": "mưa lớn"},
    "洪水": {"ja-easy": "こうずい（川の 水が あふれる）", "en": "flood", "zh-Hans": "洪水", "ko": "홍수", "vi": "lũ lụt"},
    "高潮": {"ja-easy": "たかしお（海の 水が 高く なる）", "en": "storm surge", "zh-Hans": "风暴潮", "ko": "고조(해일)", "vi": "triều cường"},
    "波浪": {"ja-easy": "たかい なみ", "en": "high waves", "zh-Hans": "巨浪", "ko": "높은 파도", "vi": "sóng lớn"},
    "暴風": {"ja-easy": "とても つよい かぜ", "en": "storm", "zh-Hans": "暴风", "ko": "폭풍", "vi": "gió bão"},
    "大雪": {"ja-easy": "おおゆき", "en": "heavy snow", "zh-Hans": "大雪", "ko": "대설", "vi": "tuyết lớn"},
}
CLASSES = {
    "特別警報": {"ja-easy": "とくべつけいほう", "en": "emergency warning", "zh-Hans": "特别警报", "ko": "특별경보", "vi": "cảnh báo đặc biệt"},
    "危険警報": {"ja-easy": "きけんけいほう", "en": "danger warning", "zh-Hans": "危险警报", "ko": "위험경보", "vi": "cảnh báo nguy hiểm"},
    "警報": {"ja-easy": "けいほう", "en": "warning", "zh-Hans": "警报", "ko": "경보", "vi": "cảnh báo"},
    "注意報": {"ja-easy": "ちゅういほう", "en": "advisory", "zh-Hans": "注意报", "ko": "주의보", "vi": "khuyến cáo"},
}
SPECIAL_NAMES = {
    "土砂災害警戒情報": {"ja-easy": "どしゃさいがい けいかい じょうほう（レベル4）", "en": "landslide alert (level 4)", "zh-Hans": "泥石流警戒信息（4级）", "ko": "토사재해 경계정보(레벨4)", "vi": "thông tin cảnh giác sạt lở đất (cấp 4)"},
    "記録的短時間大雨情報": {"ja-easy": "きろくてきな おおあめ", "en": "record short-time heavy rain", "zh-Hans": "记录性短时强降雨信息", "ko": "기록적 단시간 호우 정보", "vi": "mưa lớn kỷ lục trong thời gian ngắn"},
}
TSUNAMI_NAMES = {
    3: {"ja": "大津波警報", "ja-easy": "おおつなみけいほう", "en": "major tsunami warning", "zh-Hans": "大海啸警报", "ko": "대형 쓰나미 경보", "vi": "cảnh báo sóng thần lớn"},
    2: {"ja": "津波警報", "ja-easy": "つなみけいほう", "en": "tsunami warning", "zh-Hans": "海啸警报", "ko": "쓰나미 경보", "vi": "cảnh báo sóng thần"},
    1: {"ja": "津波注意報", "ja-easy": "つなみちゅういほう", "en": "tsunami advisory", "zh-Hans": "海啸注意报", "ko": "쓰나미 주의보", "vi": "khuyến cáo sóng thần"},
    0: {"ja": "津波警報・注意報", "ja-easy": "つなみの けいほう・ちゅういほう", "en": "tsunami warning/advisory", "zh-Hans": "海啸警报・注意报", "ko": "쓰나미 경보・주의보", "vi": "cảnh báo/khuyến cáo sóng thần"},
}
INTENSITY_NAMES = {
    "5-": {"ja": "5弱", "ja-easy": "5弱", "en": "5 Lower", "zh-Hans": "5弱", "ko": "5약", "vi": "5 yếu"},
    "5+": {"ja": "5強", "ja-easy": "5強", "en": "5 Upper", "zh-Hans": "5强", "ko": "5강", "vi": "5 mạnh"},
    "6-": {"ja": "6弱", "ja-easy": "6弱", "en": "6 Lower", "zh-Hans": "6弱", "ko": "6약", "vi": "6 yếu"},
    "6+": {"ja": "6強", "ja-easy": "6強", "en": "6 Upper", "zh-Hans": "6强", "ko": "6강", "vi": "6 mạnh"},
}

ADVICE = {
    "l5": {
        "ja": "命を守るための最善の行動をとってください。",
        "ja-easy": "いのちを まもる ために、すぐに 行動して ください。",
        "en": "Take immediate action to save your life.",
        "zh-Hans": "请立即采取保护生命的最佳行动。",
        "ko": "즉시 생명을 지키기 위한 최선의 행동을 하십시오.",
        "vi": "Hãy hành động ngay để bảo vệ tính mạng.",
    },
    "l4": {
        "ja": "危険な場所にいる人は、全員避難してください。",
        "ja-easy": "あぶない ところに いる 人は、みんな にげて ください。",
        "en": "Everyone in a dangerous place should evacuate now.",
        "zh-Hans": "身处危险地点的所有人请立即避难。",
        "ko": "위험한 장소에 있는 사람은 모두 대피하십시오.",
        "vi": "Tất cả mọi người ở nơi nguy hiểm hãy sơ tán ngay.",
    },
    "l3": {
        "ja": "高齢の方など避難に時間がかかる人は避難してください。ほかの人も避難の準備をしてください。",
        "ja-easy": "おとしより など、にげるのに 時間が かかる 人は にげて ください。ほかの 人も にげる じゅんびを して ください。",
        "en": "Older people and others who need time to evacuate should evacuate now; everyone else, get ready.",
        "zh-Hans": "老年人等避难需要时间的人请开始避难，其他人请做好避难准备。",
        "ko": "고령자 등 대피에 시간이 걸리는 분은 대피하십시오. 다른 분들도 대피를 준비하십시오.",
        "vi": "Người cao tuổi và người cần nhiều thời gian để sơ tán hãy sơ tán ngay; những người khác hãy chuẩn bị.",
    },
    "stay_in": {
        "ja": "不要不急の外出は控え、最新の情報を確認してください。",
        "ja-easy": "できるだけ 外に 出ないで ください。新しい 情報を 見て ください。",
        "en": "Avoid going out unless necessary and check the latest information.",
        "zh-Hans": "请避免不必要的外出，并确认最新信息。",
        "ko": "불필요한 외출을 삼가고 최신 정보를 확인하십시오.",
        "vi": "Hạn chế ra ngoài khi không cần thiết và theo dõi thông tin mới nhất.",
    },
    "record_rain": {
        "ja": "災害の危険が急激に高まっています。キキクル（危険度分布）を確認し、安全を確保してください。",
        "ja-easy": "きけんが 急に 高く なって います。あんぜんな ところに いて ください。",
        "en": "The risk of disaster is rising fast. Check JMA's risk map (Kikikuru) and stay safe.",
        "zh-Hans": "灾害风险正在急剧上升。请查看危险度分布图（Kikikuru），确保安全。",
        "ko": "재해 위험이 급격히 높아지고 있습니다. 위험도 분포(키키쿠루)를 확인하고 안전을 확보하십시오.",
        "vi": "Nguy cơ thiên tai đang tăng nhanh. Hãy xem bản đồ nguy cơ (Kikikuru) và giữ an toàn.",
    },
    "earthquake": {
        "ja": "落ち着いて身の安全を確保してください。火の元を確認し、余震に注意してください。",
        "ja-easy": "あわてないで、あたまを まもって ください。火を けして ください。また ゆれるかも しれません。",
        "en": "Stay calm and protect yourself. Check for fire and watch out for aftershocks.",
        "zh-Hans": "请保持冷静，确保人身安全。请检查火源，注意余震。",
        "ko": "침착하게 몸의 안전을 확보하십시오. 불을 확인하고 여진에 주의하십시오.",
        "vi": "Hãy bình tĩnh và bảo vệ bản thân. Kiểm tra nguồn lửa và đề phòng dư chấn.",
    },
    "tsunami_warning": {
        "ja": "海岸や川の近くにいる人は、ただちに高台や津波避難ビルなど安全な場所へ避難してください。",
        "ja-easy": "海や 川の 近くに いる 人は、すぐに たかい ところへ にげて ください。",
        "en": "If you are near the coast or a river, evacuate to high ground or a tsunami evacuation building immediately.",
        "zh-Hans": "在海岸或河流附近的人，请立即前往高地或海啸避难大楼等安全场所避难。",
        "ko": "해안이나 강 근처에 있는 사람은 즉시 고지대나 쓰나미 대피 빌딩 등 안전한 곳으로 대피하십시오.",
        "vi": "Nếu bạn ở gần bờ biển hoặc sông, hãy lập tức sơ tán lên chỗ cao hoặc tòa nhà lánh nạn sóng thần.",
    },
    "tsunami_advisory": {
        "ja": "海の中にいる人はただちに海から上がり、海岸から離れてください。",
        "ja-easy": "海に いる 人は、すぐに 海から 出て、海から はなれて ください。",
        "en": "Get out of the water and move away from the shore now.",
        "zh-Hans": "在海中的人请立即上岸并远离海岸。",
        "ko": "바다에 있는 사람은 즉시 물에서 나와 해안에서 멀리 떨어지십시오.",
        "vi": "Hãy lên bờ ngay và tránh xa bờ biển.",
    },
    "lifted": {
        "ja": "引き続き、最新の情報に注意してください。",
        "ja-easy": "これからも 新しい 情報に 気を つけて ください。",
        "en": "Please keep following the latest information.",
        "zh-Hans": "请继续关注最新信息。",
        "ko": "계속해서 최신 정보에 주의하십시오.",
        "vi": "Hãy tiếp tục theo dõi thông tin mới nhất.",
    },
}

HEAD = {
    "issued": {
        "ja": "【{hazard}】{areas}に{hazard}が発表されました。",
        "ja-easy": "【{hazard}】{areas}に {hazard}が 出ました。",
        "en": "[{Hazard}] A {hazard} has been issued for {areas}.",
        "zh-Hans": "【{hazard}】{areas}发布了{hazard}。",
        "ko": "[{hazard}] {areas}: {hazard} 발표",
        "vi": "[{Hazard}] Đã ban hành {hazard} cho {areas}.",
    },
    "record_rain": {
        "ja": "【記録的短時間大雨】{areas}で記録的な短時間の大雨を観測・解析しました。",
        "ja-easy": "【きろくてきな おおあめ】{areas}で とても つよい 雨が ふって います。",
        "en": "[Record rainfall] Record short-time heavy rain has been observed in {areas}.",
        "zh-Hans": "【记录性强降雨】{areas}观测到记录性短时强降雨。",
        "ko": "[기록적 호우] {areas}: 기록적인 단시간 호우 관측",
        "vi": "[Mưa kỷ lục] Đã ghi nhận mưa lớn kỷ lục trong thời gian ngắn tại {areas}.",
    },
    "earthquake": {
        "ja": "【地震】{areas}で震度{intensity}を観測しました。",
        "ja-easy": "【じしん】{areas}で しんど{intensity}の じしんが ありました。",
        "en": "[Earthquake] Seismic intensity {intensity} (JMA scale) observed in {areas}.",
        "zh-Hans": "【地震】{areas}观测到震度{intensity}。",
        "ko": "[지진] {areas}: 진도 {intensity} 관측",
        "vi": "[Động đất] Đã ghi nhận cường độ {intensity} (thang JMA) tại {areas}.",
    },
    "lifted": {
        "ja": "【解除】{areas}の{hazard}は解除されました。",
        "ja-easy": "【かいじょ】{areas}の {hazard}は おわりました。",
        "en": "[Lifted] The {hazard} for {areas} has been lifted.",
        "zh-Hans": "【解除】{areas}的{hazard}已解除。",
        "ko": "[해제] {areas}: {hazard} 해제",
        "vi": "[Hủy bỏ] {Hazard} cho {areas} đã được dỡ bỏ.",
    },
    "cancelled": {
        "ja": "【取消】先ほどお知らせした「{title}」は、気象庁により取り消されました。",
        "ja-easy": "【とりけし】さっき おくった「{title}」は まちがい でした。気象庁が とりけしました。",
        "en": "[Cancelled] JMA has cancelled the earlier notice \"{title}\".",
        "zh-Hans": "【撤销】刚才通知的“{title}”已被气象厅撤销。",
        "ko": "[취소] 앞서 알려드린 「{title}」은(는) 기상청에 의해 취소되었습니다.",
        "vi": "[Đã hủy] Cơ quan Khí tượng đã hủy thông báo trước đó \"{title}\".",
    },
}
CORRECTED = {"ja": "【訂正】", "ja-easy": "【ていせい（なおしました）】", "en": "[Correction] ", "zh-Hans": "【更正】", "ko": "[정정] ", "vi": "[Đính chính] "}
HYPOCENTER = {"ja": "震源：{h}（M{m}）", "ja-easy": "じしんの ばしょ：{h}（M{m}）", "en": "Epicentre: {h} (M{m})", "zh-Hans": "震源：{h}（M{m}）", "ko": "진원: {h} (M{m})", "vi": "Tâm chấn: {h} (M{m})"}
AND_MORE = {"ja": "など", "ja-easy": "など", "en": " and other areas", "zh-Hans": "等地", "ko": " 등", "vi": " và các khu vực khác"}
TSUNAMI_AREA = {"ja": "大阪府の沿岸", "ja-easy": "大阪府の 海の ちかく", "en": "the Osaka coast", "zh-Hans": "大阪府沿岸", "ko": "오사카부 연안", "vi": "bờ biển Osaka"}
SEISMIC_AREAS = {
    "520": {"ja": "大阪府北部", "ja-easy": "大阪府の 北の ほう", "en": "northern Osaka Prefecture", "zh-Hans": "大阪府北部", "ko": "오사카부 북부", "vi": "phía bắc tỉnh Osaka"},
    "521": {"ja": "大阪府南部", "ja-easy": "大阪府の 南の ほう", "en": "southern Osaka Prefecture", "zh-Hans": "大阪府南部", "ko": "오사카부 남부", "vi": "phía nam tỉnh Osaka"},
}
ISSUED_AT = {"ja": "{t} 気象庁発表", "ja-easy": "{t} 気象庁", "en": "Issued {t} JST", "zh-Hans": "{t} 气象厅发布", "ko": "{t} 기상청 발표", "vi": "Ban hành lúc {t} (giờ Nhật)"}


@dataclass(frozen=True)
class AlertText:
    """What a message needs, independent of language."""

    kind: str  # issued | record_rain | earthquake | tsunami | lifted | cancelled
    link_kind: str  # key of LINKS
    hazard_ja: str = ""  # JMA's name, e.g. レベル４大雨危険警報
    category: str = ""
    level: int = 0
    area_codes: tuple[str, ...] = ()  # municipality/ward codes (jis5) the alert concerns
    intensity: str | None = None
    hypocenter: str = ""
    magnitude: str = ""
    tsunami_level: int = 0
    title: str = ""  # for cancellations: the title of what was cancelled (JMA's, Japanese; fallback only)
    titles: dict[str, str] | None = None  # for cancellations: per language, what residents were told (alert_label)
    corrected: bool = False
    reported_at: dt.datetime | None = None
    area_text: dict[str, str] | None = None  # overrides the listed municipalities (大阪府北部), per language


def hazard_name(name_ja: str, lang: str) -> str:
    """Translate a JMA warning name through the hazard × class tables (レベルN kept as "level N")."""
    name = unicodedata.normalize("NFKC", name_ja)
    if lang == "ja":
        return name
    if "・" in name:
        sep = "・" if lang in ("ja-easy", "zh-Hans") else ", "
        return sep.join(hazard_name(part, lang) for part in name.split("・"))
    if name in SPECIAL_NAMES:
        return SPECIAL_NAMES[name][lang]
    m = re.match(r"レベル(\d)", name)
    level = m.group(1) if m else None
    rest = name[m.end():] if m else name
    haz = next((h for h in HAZARDS if rest.startswith(h)), None)
    cls = next((c for c in CLASSES if rest.endswith(c)), None)
    if haz is None or cls is None:
        return name
    h, c = HAZARDS[haz][lang], CLASSES[cls][lang]
    if lang == "ja-easy":
        return f"{'レベル' + level + ' ' if level else ''}{h} {c}"
    if lang == "en":
        return f"{'level ' + level + ' ' if level else ''}{h} {c}"
    if lang == "zh-Hans":
        return f"{level + '级' if level else ''}{h}{c}"
    if lang == "ko":
        return f"{'레벨' + level + ' ' if level else ''}{h} {c}"
    if lang == "vi":
        return f"{c[0].upper() + c[1:]} {h}{' cấp ' + level if level else ''}"
    return name


RECORD_RAIN_LABEL = {"ja": "記録的短時間大雨", "ja-easy": "きろくてきな おおあめ", "en": "Record rainfall", "zh-Hans": "记录性强降雨", "ko": "기록적 호우", "vi": "Mưa kỷ lục"}
EARTHQUAKE_LABEL = {
    "ja": "地震（震度{intensity}）", "ja-easy": "じしん（しんど{intensity}）", "en": "Earthquake (intensity {intensity})",
    "zh-Hans": "地震（震度{intensity}）", "ko": "지진 (진도 {intensity})", "vi": "Động đất (cường độ {intensity})",
}


def alert_label(a: AlertText, lang: str) -> str:
    """The short name of an alert as residents read it in ``lang`` (「土砂災害警戒情報」, "tsunami warning").

    A 取消 quotes this, not JMA's Head/Title: the title is Japanese only and often differs from what we sent
    (VXWW50's title is 「大阪府レベル４土砂災害危険警報」 while the alert said 【土砂災害警戒情報】)."""
    if lang not in LANGS:
        lang = "ja"
    if a.kind == "tsunami":
        return TSUNAMI_NAMES.get(a.tsunami_level, TSUNAMI_NAMES[1])[lang]
    if a.kind == "record_rain":
        return RECORD_RAIN_LABEL[lang]
    if a.kind == "earthquake":
        intensity = INTENSITY_NAMES.get(a.intensity or "", {}).get(lang, a.intensity or "")
        return EARTHQUAKE_LABEL[lang].format(intensity=intensity)
    if a.hazard_ja:
        return hazard_name(a.hazard_ja, lang)
    return a.title


def area_names(codes: tuple[str, ...], lang: str, gazetteer: Gazetteer, limit: int = 3) -> str:
    names: list[str] = []
    for code in codes:
        m = gazetteer.get(code)
        if m is None:
            continue
        names.append(m.name_en if lang in ("en", "ko", "vi") and m.name_en else m.name)
    names = list(dict.fromkeys(names))
    sep = "、" if lang in ("ja", "ja-easy", "zh-Hans") else ", "
    shown = sep.join(names[:limit])
    return shown + (AND_MORE[lang] if len(names) > limit else "")


def _advice(a: AlertText) -> str:
    if a.kind == "earthquake":
        return "earthquake"
    if a.kind == "record_rain":
        return "record_rain"
    if a.kind == "tsunami":
        return "tsunami_warning" if a.tsunami_level >= 2 else "tsunami_advisory"
    if a.kind == "lifted":
        return "lifted"
    if a.level >= 5:
        return "l5"
    if a.category == WIND_SNOW or "波浪" in a.hazard_ja:
        return "stay_in"
    if a.level >= 4:
        return "l4"
    return "l3"


def _time(t: dt.datetime | None, lang: str) -> str:
    if t is None:
        return ""
    local = t.astimezone(JST)
    if lang in ("ja", "ja-easy"):
        return f"{local.month}月{local.day}日 {local.hour}時{local.minute:02d}分"
    if lang == "zh-Hans":
        return f"{local.month}月{local.day}日 {local.hour}:{local.minute:02d}"
    if lang == "ko":
        return f"{local.month}월 {local.day}일 {local.hour}:{local.minute:02d}"
    return f"{local.day}/{local.month} {local.hour}:{local.minute:02d}"


def render(a: AlertText, lang: str, gazetteer: Gazetteer) -> str:
    """The message text for one language (falls back to ja for unknown languages)."""
    if lang not in LANGS:
        lang = "ja"
    if a.area_text:
        areas = a.area_text.get(lang) or a.area_text.get("ja", "")
    elif a.kind == "tsunami":
        areas = TSUNAMI_AREA[lang]
    else:
        areas = area_names(a.area_codes, lang, gazetteer)
    if a.kind == "tsunami":
        hazard = TSUNAMI_NAMES[a.tsunami_level][lang]
        head_key = "lifted" if a.tsunami_level == 0 else "issued"
    else:
        hazard = hazard_name(a.hazard_ja, lang) if a.hazard_ja else ""
        head_key = a.kind
    intensity = INTENSITY_NAMES.get(a.intensity or "", {}).get(lang, a.intensity or "")
    titles = a.titles or {}
    title = titles.get(lang) or titles.get("ja") or a.title
    head = HEAD[head_key][lang].format(
        hazard=hazard, Hazard=hazard[:1].upper() + hazard[1:], areas=areas, intensity=intensity, title=title
    )
    lines = [(CORRECTED[lang] if a.corrected else "") + head]
    if a.kind == "earthquake" and a.hypocenter:
        lines.append(HYPOCENTER[lang].format(h=a.hypocenter, m=a.magnitude or "?"))
    if a.kind != "cancelled":
        lines.append(ADVICE[_advice(a)][lang])
    if a.reported_at is not None:
        lines.append(ISSUED_AT[lang].format(t=_time(a.reported_at, lang)))
    lines.append(f"{SOURCE[lang]} {LINKS[a.link_kind]}")
    return "\n".join(lines)


def render_all(a: AlertText, gazetteer: Gazetteer, languages: tuple[str, ...] = LANGS) -> dict[str, list[dict]]:
    """``DeliveryJob.messages``: one LINE text message per language ("ja" always present)."""
    langs = dict.fromkeys(("ja", *languages))
    return {lang: [text(render(a, lang, gazetteer))] for lang in langs}


__all__ = ["AlertText", "LANGS", "alert_label", "area_names", "hazard_name", "render", "render_all"]
