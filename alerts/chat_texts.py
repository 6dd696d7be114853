"""Texts of the subscription chat per language (ja, ja-easy, en, zh-Hans, ko, vi).

Missing entries fall back to ja for ja-easy and to en for the others. Quick-reply labels stay ≤ 20 characters.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "menu": {
        "ja": "防災・防犯のお知らせの設定です。どれにしますか。",
        "ja-easy": "おしらせの せっていです。どれに しますか。",
        "en": "Alert settings. What would you like to do?",
        "zh-Hans": "这是防灾・防犯通知的设置。请选择。",
        "ko": "방재・방범 알림 설정입니다. 무엇을 하시겠습니까?",
        "vi": "Cài đặt thông báo phòng chống thiên tai, an ninh. Bạn muốn làm gì?",
    },
    "menu_empty": {
        "ja": "大雨や地震などの情報を、登録した場所（最大5か所）についてお知らせします。まず場所を登録してください。",
        "ja-easy": "おおあめや じしんの じょうほうを、とうろくした ばしょ（5つまで）に ついて おしらせします。はじめに ばしょを とうろくして ください。",
        "en": "I send alerts (heavy rain, earthquakes…) for up to 5 places you choose. First, add a place.",
        "zh-Hans": "我们会针对您登记的地点（最多5处）发送暴雨、地震等信息。请先登记地点。",
        "ko": "등록한 장소(최대 5곳)의 호우・지진 등의 정보를 알려 드립니다. 먼저 장소를 등록해 주십시오.",
        "vi": "Chúng tôi gửi thông tin mưa lớn, động đất… cho tối đa 5 địa điểm bạn đăng ký. Trước tiên, hãy thêm một địa điểm.",
    },
    "where": {
        "ja": "どこを登録しますか。市町村を選ぶか、位置情報を送ってください。",
        "ja-easy": "どこを とうろくしますか。しちょうそんを えらぶか、いちじょうほうを おくって ください。",
        "en": "Which place? Choose a municipality or send a location.",
        "zh-Hans": "要登记哪里？请选择市町村，或发送位置信息。",
        "ko": "어디를 등록하시겠습니까? 시정촌을 선택하거나 위치 정보를 보내 주십시오.",
        "vi": "Địa điểm nào? Hãy chọn thành phố/thị trấn hoặc gửi vị trí.",
    },
    "which_city": {
        "ja": "市町村を選んでください。", "en": "Choose a municipality.", "zh-Hans": "请选择市町村。",
        "ko": "시정촌을 선택해 주십시오.", "vi": "Hãy chọn thành phố/thị trấn.",
    },
    "which_ward": {
        "ja": "{city}のどの区ですか。", "en": "Which ward of {city}?", "zh-Hans": "{city}的哪个区？",
        "ko": "{city}의 어느 구입니까?", "vi": "Quận nào của {city}?",
    },
    "name_it": {
        "ja": "この場所の名前を選んでください（{label}）。",
        "ja-easy": "この ばしょの なまえを えらんで ください（{label}）。",
        "en": "What should I call this place ({label})?",
        "zh-Hans": "请为这个地点选择名称（{label}）。",
        "ko": "이 장소의 이름을 선택해 주십시오 ({label}).",
        "vi": "Hãy chọn tên cho địa điểm này ({label}).",
    },
    "saved": {
        "ja": "「{name}」（{label}）を登録しました。", "en": "Saved \"{name}\" ({label}).",
        "zh-Hans": "已登记“{name}”（{label}）。", "ko": "「{name}」({label})을(를) 등록했습니다.",
        "vi": "Đã đăng ký \"{name}\" ({label}).",
    },
    "saved_next": {
        "ja": "お知らせの種類も選べます。", "en": "You can also choose alert types.", "zh-Hans": "还可以选择通知的种类。",
        "ko": "알림 종류도 선택할 수 있습니다.", "vi": "Bạn cũng có thể chọn loại thông báo.",
    },
    "full": {
        "ja": "登録できる場所は5か所までです。不要な場所を削除してから追加してください。",
        "en": "You can register up to 5 places. Remove one first.",
        "zh-Hans": "最多可登记5处地点。请先删除不需要的地点。",
        "ko": "장소는 5곳까지 등록할 수 있습니다. 먼저 필요 없는 장소를 삭제해 주십시오.",
        "vi": "Bạn chỉ có thể đăng ký tối đa 5 địa điểm. Hãy xóa bớt một địa điểm trước.",
    },
    "outside": {
        "ja": "大阪府内の場所が見つかりませんでした。大阪府内の位置を送るか、市町村を選んでください。",
        "en": "That location is not in Osaka Prefecture. Send a location in Osaka or choose a municipality.",
        "zh-Hans": "该位置不在大阪府内。请发送大阪府内的位置，或选择市町村。",
        "ko": "오사카부 내의 장소가 아닙니다. 오사카부 내 위치를 보내거나 시정촌을 선택해 주십시오.",
        "vi": "Vị trí này không thuộc tỉnh Osaka. Hãy gửi vị trí trong Osaka hoặc chọn thành phố/thị trấn.",
    },
    "cats": {
        "ja": "受け取るお知らせを選んでください（✓が受け取る種類です）。", "en": "Choose the alerts you want (✓ = on).",
        "zh-Hans": "请选择要接收的通知（✓为接收）。", "ko": "받을 알림을 선택해 주십시오 (✓ = 받음).",
        "vi": "Hãy chọn loại thông báo muốn nhận (✓ = nhận).",
    },
    "eq": {
        "ja": "地震は、どの震度からお知らせしますか。", "en": "From which seismic intensity should I notify you?",
        "zh-Hans": "地震从几级震度开始通知？", "ko": "지진은 진도 몇부터 알려 드릴까요?",
        "vi": "Thông báo động đất từ cường độ nào?",
    },
    "eq_set": {
        "ja": "地震は{label}でお知らせします。", "en": "Earthquakes: {label}.", "zh-Hans": "地震：{label}时通知。",
        "ko": "지진: {label}일 때 알려 드립니다.", "vi": "Động đất: thông báo khi {label}.",
    },
    "lang": {
        "ja": "お知らせの言語を選んでください。", "en": "Choose the language for alerts.", "zh-Hans": "请选择通知语言。",
        "ko": "알림 언어를 선택해 주십시오.", "vi": "Hãy chọn ngôn ngữ thông báo.",
    },
    "lang_set": {
        "ja": "言語を{label}にしました。", "ja-easy": "ことばを {label}に しました。", "en": "Language set to {label}.",
        "zh-Hans": "语言已设为{label}。", "ko": "언어를 {label}(으)로 설정했습니다.", "vi": "Đã đặt ngôn ngữ: {label}.",
    },
    "quiet": {
        "ja": "通知しない時間を選んでください。特別警報・レベル4以上・津波警報・震度5弱以上は、この時間でもお知らせします。",
        "en": "Choose quiet hours. Emergency warnings (level 4+, tsunami warnings, intensity 5- or more) still come through.",
        "zh-Hans": "请选择免打扰时间。特别警报、4级以上、海啸警报、震度5弱以上的信息在此时间内仍会通知。",
        "ko": "알림을 받지 않을 시간을 선택해 주십시오. 특별경보・레벨4 이상・쓰나미 경보・진도 5약 이상은 이 시간에도 알려 드립니다.",
        "vi": "Hãy chọn giờ yên tĩnh. Cảnh báo khẩn cấp (cấp 4 trở lên, cảnh báo sóng thần, cường độ 5 yếu trở lên) vẫn được gửi.",
    },
    "quiet_set": {
        "ja": "{start}〜{end}は通知しません（緊急の情報は除きます）。",
        "en": "No alerts from {start} to {end} (except emergencies).",
        "zh-Hans": "{start}〜{end}不发送通知（紧急信息除外）。",
        "ko": "{start}〜{end}에는 알리지 않습니다 (긴급 정보 제외).",
        "vi": "Không gửi thông báo từ {start} đến {end} (trừ tin khẩn cấp).",
    },
    "quiet_off": {
        "ja": "通知しない時間を解除しました。", "en": "Quiet hours turned off.", "zh-Hans": "已取消免打扰时间。",
        "ko": "알림 제한 시간을 해제했습니다.", "vi": "Đã tắt giờ yên tĩnh.",
    },
    "list_head": {
        "ja": "登録内容です。", "en": "Your alert settings:", "zh-Hans": "您的登记内容：", "ko": "등록 내용입니다.",
        "vi": "Cài đặt của bạn:",
    },
    "no_places": {
        "ja": "まだ場所が登録されていません。", "en": "No places yet.", "zh-Hans": "尚未登记地点。",
        "ko": "아직 등록된 장소가 없습니다.", "vi": "Chưa có địa điểm nào.",
    },
    "deleted": {
        "ja": "「{name}」を削除しました。", "en": "Removed \"{name}\".", "zh-Hans": "已删除“{name}”。",
        "ko": "「{name}」을(를) 삭제했습니다.", "vi": "Đã xóa \"{name}\".",
    },
    "which_delete": {
        "ja": "どの場所を削除しますか。", "en": "Which place should I remove?", "zh-Hans": "要删除哪个地点？",
        "ko": "어느 장소를 삭제하시겠습니까?", "vi": "Bạn muốn xóa địa điểm nào?",
    },
    "stopped": {
        "ja": "お知らせを停止しました。登録内容は残っています。再開するときは「通知再開」と送ってください。",
        "ja-easy": "おしらせを とめました。また はじめる ときは「通知再開」と おくって ください。",
        "en": "Alerts stopped. Your settings are kept; send \"resume\" to start again.",
        "zh-Hans": "已停止通知。登记内容仍保留，如需恢复请发送“resume”。",
        "ko": "알림을 중지했습니다. 등록 내용은 남아 있습니다. 다시 받으려면 \"resume\"을 보내 주십시오.",
        "vi": "Đã dừng thông báo. Cài đặt vẫn được giữ; gửi \"resume\" để bật lại.",
    },
    "resumed": {
        "ja": "お知らせを再開しました。", "en": "Alerts resumed.", "zh-Hans": "已恢复通知。", "ko": "알림을 다시 시작했습니다.",
        "vi": "Đã bật lại thông báo.",
    },
    "forgot": {
        "ja": "登録内容をすべて削除しました。", "en": "All your alert settings were deleted.", "zh-Hans": "已删除全部登记内容。",
        "ko": "등록 내용을 모두 삭제했습니다.", "vi": "Đã xóa toàn bộ cài đặt thông báo.",
    },
    "lift_on": {
        "ja": "警報が解除されたときもお知らせします。", "en": "I will also tell you when a warning is lifted.",
        "zh-Hans": "警报解除时也会通知您。", "ko": "경보가 해제될 때도 알려 드립니다.", "vi": "Sẽ thông báo cả khi cảnh báo được dỡ bỏ.",
    },
    "lift_off": {
        "ja": "警報の解除はお知らせしません。", "en": "I will not send notices when warnings are lifted.",
        "zh-Hans": "警报解除时不再通知。", "ko": "경보 해제는 알리지 않습니다.", "vi": "Sẽ không thông báo khi cảnh báo được dỡ bỏ.",
    },
    "done": {
        "ja": "設定しました。お知らせがあればこのトークでお送りします。",
        "ja-easy": "せっていしました。おしらせは この トークに とどきます。",
        "en": "All set. Alerts will arrive in this chat.",
        "zh-Hans": "设置完成。如有通知，将通过此聊天发送。",
        "ko": "설정했습니다. 알림은 이 대화방으로 보내 드립니다.",
        "vi": "Đã cài đặt xong. Thông báo sẽ được gửi vào cuộc trò chuyện này.",
    },
    "bad": {
        "ja": "その操作は古くなったようです。もう一度メニューから選んでください。",
        "en": "That button has expired. Please start again from the menu.",
        "zh-Hans": "该操作似乎已过期。请从菜单重新选择。",
        "ko": "만료된 버튼입니다. 메뉴에서 다시 선택해 주십시오.",
        "vi": "Nút này đã hết hạn. Hãy chọn lại từ menu.",
    },
}

LABELS: dict[str, dict[str, str]] = {
    "add": {"ja": "場所を追加", "en": "Add a place", "zh-Hans": "添加地点", "ko": "장소 추가", "vi": "Thêm địa điểm"},
    "list": {"ja": "登録内容", "en": "My settings", "zh-Hans": "登记内容", "ko": "등록 내용", "vi": "Cài đặt của tôi"},
    "cats": {"ja": "種類を選ぶ", "en": "Alert types", "zh-Hans": "选择种类", "ko": "알림 종류", "vi": "Loại thông báo"},
    "eq": {"ja": "地震の震度", "en": "Earthquake level", "zh-Hans": "地震震度", "ko": "지진 진도", "vi": "Mức động đất"},
    "lang": {"ja": "言語", "en": "Language", "zh-Hans": "语言", "ko": "언어", "vi": "Ngôn ngữ"},
    "quiet": {"ja": "通知しない時間", "en": "Quiet hours", "zh-Hans": "免打扰时间", "ko": "알림 제한 시간", "vi": "Giờ yên tĩnh"},
    "stop": {"ja": "通知停止", "en": "Stop alerts", "zh-Hans": "停止通知", "ko": "알림 중지", "vi": "Dừng thông báo"},
    "resume": {"ja": "通知再開", "en": "Resume alerts", "zh-Hans": "恢复通知", "ko": "알림 재개", "vi": "Bật lại thông báo"},
    "done": {"ja": "完了", "en": "Done", "zh-Hans": "完成", "ko": "완료", "vi": "Xong"},
    "other_city": {"ja": "ほかの市町村", "en": "Other municipality", "zh-Hans": "其他市町村", "ko": "다른 시정촌", "vi": "Nơi khác"},
    "next": {"ja": "次へ", "en": "Next", "zh-Hans": "下一页", "ko": "다음", "vi": "Tiếp"},
    "back": {"ja": "戻る", "en": "Back", "zh-Hans": "返回", "ko": "이전", "vi": "Quay lại"},
    "location": {"ja": "位置情報を送る", "en": "Send location", "zh-Hans": "发送位置", "ko": "위치 보내기", "vi": "Gửi vị trí"},
    "whole": {"ja": "区は選ばない", "en": "Whole city", "zh-Hans": "整个市", "ko": "시 전체", "vi": "Toàn thành phố"},
    "delete": {"ja": "場所を削除", "en": "Remove a place", "zh-Hans": "删除地点", "ko": "장소 삭제", "vi": "Xóa địa điểm"},
    "forget": {"ja": "登録を全部削除", "en": "Delete everything", "zh-Hans": "全部删除", "ko": "모두 삭제", "vi": "Xóa tất cả"},
    "quiet_off": {"ja": "設定しない", "en": "Off", "zh-Hans": "不设置", "ko": "설정 안 함", "vi": "Tắt"},
    "lift": {"ja": "解除も知らせる", "en": "Lifted notices", "zh-Hans": "解除时也通知", "ko": "해제도 알림", "vi": "Báo khi dỡ bỏ"},
}

CATEGORY_LABELS: dict[str, dict[str, str]] = {
    "rain_flood": {"ja": "大雨・洪水", "en": "Rain/flood", "zh-Hans": "暴雨・洪水", "ko": "호우・홍수", "vi": "Mưa lớn/lũ"},
    "landslide": {"ja": "土砂災害", "en": "Landslide", "zh-Hans": "泥石流・滑坡", "ko": "토사 재해", "vi": "Sạt lở đất"},
    "surge_wave": {"ja": "高潮・波浪", "en": "Surge/waves", "zh-Hans": "风暴潮・巨浪", "ko": "고조・파도", "vi": "Triều cường/sóng"},
    "wind_snow": {"ja": "暴風・大雪", "en": "Storm/snow", "zh-Hans": "暴风・大雪", "ko": "폭풍・대설", "vi": "Bão/tuyết"},
    "earthquake": {"ja": "地震", "en": "Earthquake", "zh-Hans": "地震", "ko": "지진", "vi": "Động đất"},
    "tsunami": {"ja": "津波", "en": "Tsunami", "zh-Hans": "海啸", "ko": "쓰나미", "vi": "Sóng thần"},
    "crime": {"ja": "防犯・子どもの安全", "en": "Safety/children", "zh-Hans": "防犯・儿童安全", "ko": "방범・어린이 안전", "vi": "An ninh/trẻ em"},
}

THRESHOLD_LABELS: dict[str, dict[str, str]] = {
    "3": {"ja": "震度3以上", "en": "Intensity 3+", "zh-Hans": "震度3以上", "ko": "진도 3 이상", "vi": "Cường độ 3 trở lên"},
    "4": {"ja": "震度4以上", "en": "Intensity 4+", "zh-Hans": "震度4以上", "ko": "진도 4 이상", "vi": "Cường độ 4 trở lên"},
    "5-": {"ja": "震度5弱以上", "en": "Intensity 5 Lower+", "zh-Hans": "震度5弱以上", "ko": "진도 5약 이상", "vi": "Từ 5 yếu trở lên"},
}

PLACE_NAMES: dict[str, dict[str, str]] = {
    "自宅": {"en": "Home", "zh-Hans": "家", "ko": "집", "vi": "Nhà"},
    "学校": {"en": "School", "zh-Hans": "学校", "ko": "학교", "vi": "Trường học"},
    "職場": {"en": "Work", "zh-Hans": "工作单位", "ko": "직장", "vi": "Nơi làm việc"},
    "実家": {"en": "Family", "zh-Hans": "老家", "ko": "본가", "vi": "Nhà bố mẹ"},
    "その他": {"en": "Other", "zh-Hans": "其他", "ko": "기타", "vi": "Khác"},
}

LIST_FIELDS: dict[str, dict[str, str]] = {
    "types": {"ja": "種類：", "en": "Alerts: ", "zh-Hans": "种类：", "ko": "종류: ", "vi": "Loại: "},
    "eq": {"ja": "地震：", "en": "Earthquakes: ", "zh-Hans": "地震：", "ko": "지진: ", "vi": "Động đất: "},
    "lang": {"ja": "言語：", "en": "Language: ", "zh-Hans": "语言：", "ko": "언어: ", "vi": "Ngôn ngữ: "},
    "quiet": {"ja": "通知しない時間：", "en": "Quiet hours: ", "zh-Hans": "免打扰时间：", "ko": "알림 제한 시간: ", "vi": "Giờ yên tĩnh: "},
    "paused": {"ja": "状態：停止中", "en": "Status: stopped", "zh-Hans": "状态：已停止", "ko": "상태: 중지됨", "vi": "Trạng thái: đã dừng"},
}


def pick(table: dict[str, str], lang: str) -> str:
    """The entry for a language; ja-easy falls back to ja, everything else to en, then ja."""
    if lang in table:
        return table[lang]
    if lang.startswith("ja"):
        return table["ja"]
    return table.get("en") or table["ja"]
