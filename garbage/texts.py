"""The garbage room's texts per language (ja, ja-easy, en, zh-Hans, ko, vi): one catalogue, one fallback rule.

A missing entry falls back to ``ja`` for ``ja-easy`` and to ``en`` for the other languages, then to ``ja``.
Item names, notices and how-to texts come from the tenant's data (Japanese); the frame around them is translated,
and the common 5374 category labels have names in each language (``CATEGORY_NAMES``).
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "answer": {
        "ja": "「{name}」は【{category}】です。",
        "ja-easy": "「{name}」は【{category}】です。",
        "en": '"{name}" goes in: {category}.',
        "zh-Hans": "“{name}”属于【{category}】。",
        "ko": "「{name}」은(는) 【{category}】입니다.",
        "vi": '"{name}" thuộc loại: {category}.',
    },
    "how": {
        "ja": "出し方：{how}",
        "ja-easy": "だしかた：{how}",
        "en": "How to put it out: {how}",
        "zh-Hans": "投放方法：{how}",
        "ko": "배출 방법: {how}",
        "vi": "Cách bỏ rác: {how}",
    },
    "more": {
        "ja": "くわしくは {url}",
        "en": "Details: {url}",
        "zh-Hans": "详情：{url}",
        "ko": "자세히: {url}",
        "vi": "Chi tiết: {url}",
    },
    "pick": {
        "ja": "「{query}」はどれのことですか。下から選んでください。",
        "ja-easy": "「{query}」は どれですか。したから えらんで ください。",
        "en": 'Which one do you mean by "{query}"? Please choose below.',
        "zh-Hans": "“{query}”是指哪一个？请从下面选择。",
        "ko": "「{query}」은(는) 어느 것입니까? 아래에서 선택해 주십시오.",
        "vi": '"{query}" là món nào? Hãy chọn bên dưới.',
    },
    "not_found": {
        "ja": "「{query}」の分け方が見つかりませんでした。別の言い方で送るか、分別の一覧をご覧ください。{url}\n"
        "いただいた品目名は、今後の追加のために担当者に伝えます。",
        "ja-easy": "「{query}」の わけかたが みつかりませんでした。ちがう ことばで おくって ください。{url}",
        "en": 'I could not find how to sort "{query}". Try other words or see the list: {url}\n'
        "We pass the item name on to the staff so it can be added.",
        "zh-Hans": "没有找到“{query}”的分类方法。请换个说法，或查看分类一览：{url}",
        "ko": "「{query}」의 분리 방법을 찾지 못했습니다. 다른 말로 보내시거나 목록을 확인해 주십시오. {url}",
        "vi": 'Không tìm thấy cách phân loại "{query}". Hãy thử từ khác hoặc xem danh sách: {url}',
    },
    "day": {
        "ja": "{when}（{date}）は{cats}の日です。",
        "ja-easy": "{when}（{date}）は {cats}の ひです。",
        "en": "{when} ({date}) is collection day for: {cats}.",
        "zh-Hans": "{when}（{date}）收集：{cats}。",
        "ko": "{when}({date})은(는) {cats} 수거일입니다.",
        "vi": "{when} ({date}) thu gom: {cats}.",
    },
    "no_collection": {
        "ja": "{when}（{date}）はごみの収集はありません。",
        "ja-easy": "{when}（{date}）は ごみの しゅうしゅうは ありません。",
        "en": "There is no collection {when} ({date}).",
        "zh-Hans": "{when}（{date}）没有垃圾收集。",
        "ko": "{when}({date})은(는) 쓰레기 수거가 없습니다.",
        "vi": "{when} ({date}) không có thu gom rác.",
    },
    "today": {"ja": "今日", "ja-easy": "きょう", "en": "today", "zh-Hans": "今天", "ko": "오늘", "vi": "Hôm nay"},
    "tomorrow": {"ja": "明日", "ja-easy": "あした", "en": "tomorrow", "zh-Hans": "明天", "ko": "내일", "vi": "Ngày mai"},
    "area_of": {"ja": "（{area}）", "en": " ({area})"},
    "need_area": {
        "ja": "お住まいの地区を選んでください。",
        "ja-easy": "すんでいる ちくを えらんで ください。",
        "en": "Please choose the area where you live.",
        "zh-Hans": "请选择您居住的地区。",
        "ko": "거주하시는 지역을 선택해 주십시오.",
        "vi": "Hãy chọn khu vực bạn sống.",
    },
    "need_area_places": {
        "ja": "登録した場所から選ぶか、地区を選んでください。",
        "ja-easy": "とうろくした ばしょか、ちくを えらんで ください。",
        "en": "Choose one of your registered places or an area.",
        "zh-Hans": "请从已登记的地点或地区中选择。",
        "ko": "등록한 장소나 지역을 선택해 주십시오.",
        "vi": "Hãy chọn địa điểm đã đăng ký hoặc khu vực.",
    },
    "choose_time": {
        "ja": "{area}ですね。お知らせの時間を選んでください。",
        "ja-easy": "{area}ですね。おしらせの じかんを えらんで ください。",
        "en": "{area}. When should I remind you?",
        "zh-Hans": "{area}。请选择通知时间。",
        "ko": "{area}이군요. 알림 시간을 선택해 주십시오.",
        "vi": "{area}. Bạn muốn được nhắc lúc nào?",
    },
    "eve": {
        "ja": "前日 20:00",
        "ja-easy": "まえのひ 20:00",
        "en": "Evening before 20:00",
        "zh-Hans": "前一天 20:00",
        "ko": "전날 20:00",
        "vi": "Tối hôm trước 20:00",
    },
    "morning": {
        "ja": "当日 7:00",
        "ja-easy": "とうじつ 7:00",
        "en": "Same day 7:00",
        "zh-Hans": "当天 7:00",
        "ko": "당일 7:00",
        "vi": "Sáng cùng ngày 7:00",
    },
    "saved": {
        "ja": "登録しました。{area}の{cats}の日を、{time}にお知らせします。",
        "ja-easy": "とうろくしました。{area}の {cats}の ひを、{time}に おしらせします。",
        "en": "Done. I will remind you of {cats} in {area} at {time}.",
        "zh-Hans": "已登记。将在{time}通知{area}的{cats}收集日。",
        "ko": "등록했습니다. {area}의 {cats} 수거일을 {time}에 알려 드립니다.",
        "vi": "Đã đăng ký. Tôi sẽ nhắc {cats} ở {area} lúc {time}.",
    },
    "choose_categories": {
        "ja": "お知らせする種類を選んでください（押すたびに入れる・外すが切り替わります）。今は：{cats}",
        "ja-easy": "おしらせする しゅるいを えらんで ください。いまは：{cats}",
        "en": "Choose the kinds to be reminded of (tap again to remove). Now: {cats}",
        "zh-Hans": "请选择要通知的种类（再按一次取消）。目前：{cats}",
        "ko": "알림 받을 종류를 선택해 주십시오(다시 누르면 해제). 현재: {cats}",
        "vi": "Chọn loại rác muốn được nhắc (bấm lại để bỏ). Hiện tại: {cats}",
    },
    "stopped": {
        "ja": "ごみの日のお知らせを止めました。",
        "ja-easy": "ごみの ひの おしらせを とめました。",
        "en": "Garbage day reminders are off.",
        "zh-Hans": "已停止垃圾收集日通知。",
        "ko": "쓰레기 수거일 알림을 중지했습니다.",
        "vi": "Đã tắt nhắc ngày thu gom rác.",
    },
    "menu": {
        "ja": "ごみの日のお知らせ：{state}",
        "ja-easy": "ごみの ひの おしらせ：{state}",
        "en": "Garbage day reminders: {state}",
        "zh-Hans": "垃圾收集日通知：{state}",
        "ko": "쓰레기 수거일 알림: {state}",
        "vi": "Nhắc ngày thu gom rác: {state}",
    },
    "state_off": {
        "ja": "未登録",
        "ja-easy": "まだ とうろく していません",
        "en": "not registered",
        "zh-Hans": "未登记",
        "ko": "미등록",
        "vi": "chưa đăng ký",
    },
    "state_on": {"ja": "{area}・{time}・{cats}", "en": "{area}, {time}, {cats}"},
    "btn_register": {
        "ja": "地区を登録",
        "ja-easy": "ちくを とうろく",
        "en": "Set area",
        "zh-Hans": "登记地区",
        "ko": "지역 등록",
        "vi": "Chọn khu vực",
    },
    "btn_categories": {
        "ja": "種類を選ぶ",
        "ja-easy": "しゅるいを えらぶ",
        "en": "Kinds",
        "zh-Hans": "选择种类",
        "ko": "종류 선택",
        "vi": "Loại rác",
    },
    "btn_time": {
        "ja": "時間を変える",
        "ja-easy": "じかんを かえる",
        "en": "Time",
        "zh-Hans": "更改时间",
        "ko": "시간 변경",
        "vi": "Đổi giờ",
    },
    "btn_stop": {
        "ja": "お知らせを止める",
        "ja-easy": "おしらせを とめる",
        "en": "Stop",
        "zh-Hans": "停止通知",
        "ko": "알림 중지",
        "vi": "Tắt nhắc",
    },
    "btn_today": {
        "ja": "今日は何ごみ？",
        "ja-easy": "きょうは なにごみ？",
        "en": "Today?",
        "zh-Hans": "今天收什么？",
        "ko": "오늘은?",
        "vi": "Hôm nay?",
    },
    "btn_tomorrow": {
        "ja": "明日は何ごみ？",
        "ja-easy": "あしたは なにごみ？",
        "en": "Tomorrow?",
        "zh-Hans": "明天收什么？",
        "ko": "내일은?",
        "vi": "Ngày mai?",
    },
    "btn_done": {"ja": "これでよい", "ja-easy": "これで いい", "en": "Done", "zh-Hans": "完成", "ko": "완료", "vi": "Xong"},
    "reminder_eve": {
        "ja": "明日は{cats}の日です。",
        "ja-easy": "あしたは {cats}の ひです。",
        "en": "Tomorrow is collection day for: {cats}.",
        "zh-Hans": "明天是{cats}的收集日。",
        "ko": "내일은 {cats} 수거일입니다.",
        "vi": "Ngày mai thu gom: {cats}.",
    },
    "reminder_morning": {
        "ja": "今日は{cats}の日です。",
        "ja-easy": "きょうは {cats}の ひです。",
        "en": "Today is collection day for: {cats}.",
        "zh-Hans": "今天是{cats}的收集日。",
        "ko": "오늘은 {cats} 수거일입니다.",
        "vi": "Hôm nay thu gom: {cats}.",
    },
    "reminder_tail": {
        "ja": "朝8時30分までに出してください。",
        "ja-easy": "あさ 8じ30ぷんまでに だして ください。",
        "en": "Please put it out by 8:30 in the morning.",
        "zh-Hans": "请在早上8点30分之前投放。",
        "ko": "아침 8시 30분까지 내놓아 주십시오.",
        "vi": "Hãy bỏ rác trước 8:30 sáng.",
    },
    "skipped": {
        "ja": "お知らせ：今月は市のLINEのメッセージ送信数が上限に達したため、ごみの日のお知らせを送れなかった日があります。"
        "「明日は何ごみ？」と送ると、いつでも確認できます。",
        "ja-easy": "おしらせ：こんげつは メッセージが おおすぎて、ごみの ひの おしらせを おくれない ひが ありました。"
        "「あしたは なにごみ？」と おくると わかります。",
        "en": "Note: this month the city's LINE message limit was reached, so some garbage day reminders were not sent. "
        'Send "tomorrow?" to check at any time.',
        "zh-Hans": "提示：本月市政LINE的消息发送量已达上限，部分垃圾收集日通知未能发送。随时发送“明天收什么？”即可确认。",
        "ko": "안내: 이번 달은 시 LINE 메시지 발송 한도에 도달하여 일부 쓰레기 수거일 알림을 보내지 못했습니다. "
        "「내일은?」이라고 보내시면 언제든 확인할 수 있습니다.",
        "vi": "Lưu ý: tháng này đã đạt giới hạn tin nhắn LINE của thành phố nên một số lời nhắc ngày thu gom không được gửi. "
        'Gửi "Ngày mai?" để kiểm tra bất cứ lúc nào.',
    },
    "list_sep": {"ja": "・", "ja-easy": "・", "en": ", ", "zh-Hans": "、", "ko": ", ", "vi": ", "},
}

CATEGORY_NAMES: dict[str, dict[str, str]] = {
    "燃やすごみ": {
        "ja-easy": "もやす ごみ",
        "en": "burnable garbage",
        "zh-Hans": "可燃垃圾",
        "ko": "타는 쓰레기",
        "vi": "rác cháy được",
    },
    "燃えるごみ": {
        "ja-easy": "もえる ごみ",
        "en": "burnable garbage",
        "zh-Hans": "可燃垃圾",
        "ko": "타는 쓰레기",
        "vi": "rác cháy được",
    },
    "燃やさないごみ": {
        "ja-easy": "もやさない ごみ",
        "en": "non-burnable garbage",
        "zh-Hans": "不可燃垃圾",
        "ko": "타지 않는 쓰레기",
        "vi": "rác không cháy được",
    },
    "燃えないごみ": {
        "ja-easy": "もえない ごみ",
        "en": "non-burnable garbage",
        "zh-Hans": "不可燃垃圾",
        "ko": "타지 않는 쓰레기",
        "vi": "rác không cháy được",
    },
    "プラスチック製容器包装": {
        "ja-easy": "プラスチックの いれもの",
        "en": "plastic containers and packaging",
        "zh-Hans": "塑料容器包装",
        "ko": "플라스틱 용기・포장",
        "vi": "bao bì nhựa",
    },
    "缶・びん・ペットボトル": {
        "ja-easy": "かん・びん・ペットボトル",
        "en": "cans, bottles and PET bottles",
        "zh-Hans": "罐・瓶・塑料瓶",
        "ko": "캔・병・페트병",
        "vi": "lon, chai lọ, chai nhựa PET",
    },
    "古紙・衣類": {
        "ja-easy": "ふるい かみ・ふく",
        "en": "paper and clothes",
        "zh-Hans": "旧纸・衣物",
        "ko": "폐지・의류",
        "vi": "giấy cũ, quần áo",
    },
    "有害ごみ": {
        "ja-easy": "きけんな ごみ（でんち など）",
        "en": "hazardous waste (batteries etc.)",
        "zh-Hans": "有害垃圾",
        "ko": "유해 쓰레기",
        "vi": "rác độc hại",
    },
    "粗大ごみ": {
        "ja-easy": "おおきい ごみ",
        "en": "oversized garbage (booking, fee)",
        "zh-Hans": "大件垃圾",
        "ko": "대형 쓰레기",
        "vi": "rác cỡ lớn",
    },
    "小型家電": {
        "ja-easy": "ちいさい でんきせいひん",
        "en": "small electronics (collection boxes)",
        "zh-Hans": "小型家电",
        "ko": "소형 가전",
        "vi": "đồ điện nhỏ",
    },
    "市では収集できないもの": {
        "ja-easy": "しでは あつめない もの",
        "en": "not collected by the city",
        "zh-Hans": "市政府不收集的物品",
        "ko": "시에서 수거하지 않는 것",
        "vi": "thành phố không thu gom",
    },
}


def t(key: str, language: str = "ja", **kw: object) -> str:
    table = TEXTS[key]
    if language in table:
        raw = table[language]
    elif language.startswith("ja"):
        raw = table["ja"]
    else:
        raw = table.get("en", table["ja"])
    return raw.format(**kw)


def category_name(label: str, language: str = "ja") -> str:
    names = CATEGORY_NAMES.get(label, {})
    if language == "ja" or not names:
        return label
    return names.get(language) or (label if language.startswith("ja") else names.get("en", label))


def join(labels: list[str] | tuple[str, ...], language: str = "ja") -> str:
    return t("list_sep", language).join(category_name(c, language) for c in labels)
