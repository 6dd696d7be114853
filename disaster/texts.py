"""The disaster room's message catalogue: one table per language the demo tenant offers, one fallback rule.

Fallback: a missing key in ``ja-easy`` falls back to ``ja``; in any other language to ``en``, then ``ja``.
``tests/unit/disaster/test_disaster_texts.py`` checks that every language has every key.
"""

from __future__ import annotations

LANGS = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi")

ATTRIBUTION = "出典：国土地理院 指定緊急避難場所データ"

CATALOGUE: dict[str, dict[str, str]] = {
    "ja": {
        "area.faq": "よくある質問", "area.consult": "相談する", "area.alerts": "防災・防犯の通知設定", "area.garbage": "ごみ",
        "area.report": "通報する", "area.language": "言語 / Language", "area.shelters": "避難所を探す",
        "area.info": "いま出ている情報", "area.safety": "安否を家族に知らせる", "area.back": "通常メニューに戻る情報",
        "send.faq": "よくある質問", "send.consult": "相談したい", "send.garbage": "ごみの出し方",
        "bar.normal": "メニュー", "bar.disaster": "災害時メニュー",
        "hz.flood": "洪水", "hz.landslide": "崖崩れ・土石流・地滑り", "hz.storm_surge": "高潮", "hz.earthquake": "地震",
        "hz.tsunami": "津波", "hz.fire": "大規模な火事", "hz.inland_flood": "内水氾濫", "hz.volcano": "火山現象",
        "st.open": "開設", "st.crowded": "混雑", "st.full": "満員", "st.closed": "閉鎖", "st.unknown": "開設状況は未確認",
        "ask_hazard": "どの災害から避難しますか。選んでください。",
        "ask_location": "{hazard}のときの避難場所を探します。下の「位置情報を送る」から、いまいる場所を送ってください。",
        "location_button": "位置情報を送る",
        "results": "{hazard}のときの指定緊急避難場所（近い順・開設中を優先）です。",
        "none_near": "{hazard}に指定された避難場所は、3km以内に見つかりませんでした。{city}のホームページや防災情報で確認してください。",
        "no_data": "この地域の避難場所データがまだありません。{city}のホームページで確認してください。",
        "walk": "徒歩約{minutes}分（直線{distance}）", "designated": "指定：{hazards}", "status": "状況：{status}",
        "map": "地図を見る",
        "caution": "データは市町村の登録で、最新でない場合があります。開設状況は市の発表で確かめてください。",
        "info_disaster": "いま災害時モードです（{since}から）。対象の災害：{hazards}\n避難所を探すときは「避難所を探す」を押してください。",
        "info_normal": "いま出ている大きな災害の情報はありません。防災・防犯の通知は「通知設定」から登録できます。",
        "back_info": "災害時メニューは、市の職員が安全を確かめてから通常のメニューに戻します。それまでは災害時メニューをお使いください。",
        "safety_ask": "家族に送る安否のメッセージを選んでください。市は、だれに送ったかを記録しません。",
        "safety_ok": "無事です", "safety_shelter": "避難所にいます",
        "safety_place": "いる避難所の名前を送ってください（例：大芝小学校）。",
        "safety_link": "下のボタンから、家族や友だちを選んでメッセージを送れます。市は送り先を記録しません。",
        "safety_share": "家族に送る",
        "safety_msg_ok": "【安否】無事です。",
        "safety_msg_shelter": "【安否】無事です。避難所にいます：{place}",
        "shelter_words": "避難所|避難場所|ひなんじょ|避難先",
    },
    "ja-easy": {
        "area.faq": "よくある しつもん", "area.consult": "そうだん する", "area.alerts": "おしらせ の せってい",
        "area.garbage": "ごみ", "area.report": "しらせる", "area.language": "ことば / Language",
        "area.shelters": "ひなんじょ を さがす", "area.info": "いま の じょうほう", "area.safety": "かぞく に ぶじ を しらせる",
        "area.back": "もとの メニュー に もどる とき", "send.faq": "よくある質問", "send.consult": "相談したい",
        "send.garbage": "ごみの出し方", "bar.normal": "メニュー", "bar.disaster": "さいがい メニュー",
        "hz.flood": "こうずい（みず）", "hz.landslide": "がけくずれ", "hz.storm_surge": "たかしお", "hz.earthquake": "じしん",
        "hz.tsunami": "つなみ", "hz.fire": "おおきな かじ", "hz.inland_flood": "まち の こうずい", "hz.volcano": "かざん",
        "st.open": "あいています", "st.crowded": "こんでいます", "st.full": "いっぱい です", "st.closed": "しまっています",
        "st.unknown": "あいているか まだ わかりません",
        "ask_hazard": "なに から にげますか。えらんで ください。",
        "ask_location": "{hazard} の ときに にげる ばしょ を さがします。「いる ばしょ を おくる」を おして ください。",
        "location_button": "いる ばしょ を おくる",
        "results": "{hazard} の ときに にげる ばしょ です（ちかい じゅん）。",
        "none_near": "3km の なか に {hazard} の ひなん ばしょ が ありません。{city} の ホームページ を みて ください。",
        "no_data": "この ちいき の ひなん ばしょ の じょうほう が まだ ありません。{city} の ホームページ を みて ください。",
        "walk": "あるいて やく{minutes}ふん（{distance}）", "designated": "{hazards} の とき にげる ばしょ",
        "status": "いま：{status}", "map": "ちず を みる",
        "caution": "じょうほう が ふるい ことが あります。あいているか は 市 の おしらせ で たしかめて ください。",
        "info_disaster": "いま さいがい の モード です（{since}から）。{hazards}\n「ひなんじょ を さがす」を おして ください。",
        "info_normal": "いま おおきな さいがい の じょうほう は ありません。",
        "back_info": "市 の しょくいん が あんぜん を たしかめてから、もとの メニュー に もどします。",
        "safety_ask": "かぞく に おくる ことば を えらんで ください。市 は だれに おくったか を きろく しません。",
        "safety_ok": "ぶじ です", "safety_shelter": "ひなんじょ に います",
        "safety_place": "いる ひなんじょ の なまえ を おくって ください。",
        "safety_link": "したの ボタン で かぞく に おくれます。市 は おくりさき を きろく しません。",
        "safety_share": "かぞく に おくる",
        "safety_msg_ok": "【あんぴ】ぶじ です。", "safety_msg_shelter": "【あんぴ】ぶじ です。ひなんじょ に います：{place}",
        "shelter_words": "ひなんじょ|避難所|避難場所",
    },
    "en": {
        "area.faq": "FAQ", "area.consult": "Consultation", "area.alerts": "Alert settings", "area.garbage": "Garbage",
        "area.report": "Report a problem", "area.language": "Language / 言語", "area.shelters": "Find a shelter",
        "area.info": "Current warnings", "area.safety": "Tell family I'm safe", "area.back": "Back to normal menu",
        "send.faq": "FAQ", "send.consult": "I want to consult", "send.garbage": "How to put out garbage",
        "bar.normal": "Menu", "bar.disaster": "Disaster menu",
        "hz.flood": "Flood", "hz.landslide": "Landslide", "hz.storm_surge": "Storm surge", "hz.earthquake": "Earthquake",
        "hz.tsunami": "Tsunami", "hz.fire": "Large fire", "hz.inland_flood": "Inland flooding", "hz.volcano": "Volcano",
        "st.open": "Open", "st.crowded": "Crowded", "st.full": "Full", "st.closed": "Closed", "st.unknown": "Status not confirmed",
        "ask_hazard": "Which danger are you evacuating from?",
        "ask_location": "Finding evacuation sites for: {hazard}. Tap \"Send location\" to share where you are.",
        "location_button": "Send location",
        "results": "Designated evacuation sites for {hazard} (nearest first, open sites first).",
        "none_near": "No site designated for {hazard} within 3 km. Please check {city}'s website.",
        "no_data": "No evacuation site data for this area yet. Please check {city}'s website.",
        "walk": "About {minutes} min walk ({distance} straight line)", "designated": "For: {hazards}", "status": "Status: {status}",
        "map": "Map",
        "caution": "Data are the municipalities' registrations and may be outdated. Check the city's announcements.",
        "info_disaster": "Disaster mode since {since}. Hazards: {hazards}\nTap \"Find a shelter\" to find a site.",
        "info_normal": "There is no major disaster information now.",
        "back_info": "City staff switch back to the normal menu once it is safe. Until then, please use the disaster menu.",
        "safety_ask": "Choose the message for your family. The city never records whom you tell.",
        "safety_ok": "I'm safe", "safety_shelter": "I'm at a shelter",
        "safety_place": "Send the name of the shelter you are at.",
        "safety_link": "Tap the button to send it to your family or friends. The city does not record who receives it.",
        "safety_share": "Send to family",
        "safety_msg_ok": "[Safety] I'm safe.", "safety_msg_shelter": "[Safety] I'm safe. I'm at a shelter: {place}",
        "shelter_words": "shelter|evacuation",
    },
    "zh-Hans": {
        "area.faq": "常见问题", "area.consult": "咨询", "area.alerts": "通知设置", "area.garbage": "垃圾", "area.report": "报告问题",
        "area.language": "语言 / Language", "area.shelters": "查找避难所", "area.info": "当前灾害信息",
        "area.safety": "告诉家人我平安", "area.back": "返回普通菜单", "send.faq": "FAQ", "send.consult": "I want to consult",
        "send.garbage": "How to put out garbage", "bar.normal": "菜单", "bar.disaster": "灾害菜单",
        "hz.flood": "洪水", "hz.landslide": "山体滑坡", "hz.storm_surge": "风暴潮", "hz.earthquake": "地震", "hz.tsunami": "海啸",
        "hz.fire": "大规模火灾", "hz.inland_flood": "内涝", "hz.volcano": "火山",
        "st.open": "开放", "st.crowded": "拥挤", "st.full": "已满", "st.closed": "关闭", "st.unknown": "开放情况未确认",
        "ask_hazard": "您要躲避哪种灾害？请选择。",
        "ask_location": "正在查找{hazard}时的避难场所。请点击“发送位置”。", "location_button": "发送位置",
        "results": "{hazard}时的指定紧急避难场所（由近到远，开放优先）。",
        "none_near": "3公里内没有{hazard}的避难场所。请查看{city}的网站。",
        "no_data": "该地区还没有避难场所数据。请查看{city}的网站。",
        "walk": "步行约{minutes}分钟（直线{distance}）", "designated": "适用：{hazards}", "status": "状态：{status}", "map": "地图",
        "caution": "数据来自各市町村登记，可能不是最新。请以市政府公告为准。",
        "info_disaster": "自{since}起为灾害模式。灾害：{hazards}\n请点击“查找避难所”。",
        "info_normal": "目前没有重大灾害信息。",
        "back_info": "市政府职员确认安全后会恢复普通菜单。",
        "safety_ask": "请选择发给家人的消息。市政府不会记录您发给了谁。",
        "safety_ok": "我平安", "safety_shelter": "我在避难所", "safety_place": "请发送您所在避难所的名称。",
        "safety_link": "点击按钮发送给家人或朋友。市政府不记录收件人。", "safety_share": "发给家人",
        "safety_msg_ok": "【平安】我平安。", "safety_msg_shelter": "【平安】我平安，在避难所：{place}",
        "shelter_words": "避难所|避难",
    },
    "ko": {
        "area.faq": "자주 묻는 질문", "area.consult": "상담", "area.alerts": "알림 설정", "area.garbage": "쓰레기", "area.report": "신고",
        "area.language": "언어 / Language", "area.shelters": "대피소 찾기", "area.info": "현재 재난 정보",
        "area.safety": "가족에게 안부 알리기", "area.back": "일반 메뉴 복귀 안내", "send.faq": "FAQ", "send.consult": "I want to consult",
        "send.garbage": "How to put out garbage", "bar.normal": "메뉴", "bar.disaster": "재난 메뉴",
        "hz.flood": "홍수", "hz.landslide": "산사태", "hz.storm_surge": "해일", "hz.earthquake": "지진", "hz.tsunami": "쓰나미",
        "hz.fire": "대형 화재", "hz.inland_flood": "내수 범람", "hz.volcano": "화산",
        "st.open": "개설", "st.crowded": "혼잡", "st.full": "만원", "st.closed": "폐쇄", "st.unknown": "개설 여부 미확인",
        "ask_hazard": "어떤 재난을 피하시나요? 선택해 주세요.",
        "ask_location": "{hazard} 때의 대피 장소를 찾습니다. '위치 보내기'를 눌러 주세요.", "location_button": "위치 보내기",
        "results": "{hazard} 때의 지정 긴급 대피 장소입니다(가까운 순, 개설 우선).",
        "none_near": "3km 이내에 {hazard} 대피 장소가 없습니다. {city} 홈페이지를 확인해 주세요.",
        "no_data": "이 지역의 대피 장소 데이터가 아직 없습니다. {city} 홈페이지를 확인해 주세요.",
        "walk": "도보 약 {minutes}분(직선 {distance})", "designated": "대상: {hazards}", "status": "상황: {status}", "map": "지도",
        "caution": "데이터는 시정촌의 등록 정보로 최신이 아닐 수 있습니다. 시의 발표를 확인해 주세요.",
        "info_disaster": "{since}부터 재난 모드입니다. 재난: {hazards}\n'대피소 찾기'를 눌러 주세요.",
        "info_normal": "현재 큰 재난 정보는 없습니다.",
        "back_info": "시 직원이 안전을 확인한 뒤 일반 메뉴로 돌아갑니다.",
        "safety_ask": "가족에게 보낼 메시지를 선택하세요. 시는 누구에게 보냈는지 기록하지 않습니다.",
        "safety_ok": "무사합니다", "safety_shelter": "대피소에 있습니다", "safety_place": "계신 대피소 이름을 보내 주세요.",
        "safety_link": "버튼을 눌러 가족이나 친구에게 보내세요. 시는 받는 사람을 기록하지 않습니다.", "safety_share": "가족에게 보내기",
        "safety_msg_ok": "[안부] 무사합니다.", "safety_msg_shelter": "[안부] 무사합니다. 대피소에 있습니다: {place}",
        "shelter_words": "대피소|피난",
    },
    "vi": {
        "area.faq": "Câu hỏi thường gặp", "area.consult": "Tư vấn", "area.alerts": "Cài đặt thông báo", "area.garbage": "Rác",
        "area.report": "Báo cáo", "area.language": "Ngôn ngữ / Language", "area.shelters": "Tìm nơi sơ tán",
        "area.info": "Thông tin hiện tại", "area.safety": "Báo bình an", "area.back": "Về menu thường",
        "send.faq": "FAQ", "send.consult": "I want to consult", "send.garbage": "How to put out garbage",
        "bar.normal": "Menu", "bar.disaster": "Menu thiên tai",
        "hz.flood": "Lũ lụt", "hz.landslide": "Sạt lở đất", "hz.storm_surge": "Triều cường", "hz.earthquake": "Động đất",
        "hz.tsunami": "Sóng thần", "hz.fire": "Hỏa hoạn lớn", "hz.inland_flood": "Ngập úng", "hz.volcano": "Núi lửa",
        "st.open": "Đang mở", "st.crowded": "Đông", "st.full": "Đã đầy", "st.closed": "Đóng", "st.unknown": "Chưa xác nhận",
        "ask_hazard": "Bạn đang sơ tán khỏi nguy hiểm nào?",
        "ask_location": "Tìm nơi sơ tán khi có {hazard}. Hãy nhấn \"Gửi vị trí\".", "location_button": "Gửi vị trí",
        "results": "Nơi sơ tán khẩn cấp cho {hazard} (gần nhất trước, nơi đang mở trước).",
        "none_near": "Không có nơi sơ tán cho {hazard} trong vòng 3 km. Hãy xem trang web của {city}.",
        "no_data": "Chưa có dữ liệu nơi sơ tán cho khu vực này. Hãy xem trang web của {city}.",
        "walk": "Đi bộ khoảng {minutes} phút ({distance} đường thẳng)", "designated": "Dành cho: {hazards}",
        "status": "Tình trạng: {status}", "map": "Bản đồ",
        "caution": "Dữ liệu do địa phương đăng ký, có thể chưa mới nhất. Hãy xem thông báo của thành phố.",
        "info_disaster": "Chế độ thiên tai từ {since}. Nguy hiểm: {hazards}\nNhấn \"Tìm nơi sơ tán\".",
        "info_normal": "Hiện không có thông tin thiên tai lớn.",
        "back_info": "Nhân viên thành phố sẽ chuyển về menu thường khi đã an toàn.",
        "safety_ask": "Chọn tin nhắn gửi gia đình. Thành phố không ghi lại bạn gửi cho ai.",
        "safety_ok": "Tôi an toàn", "safety_shelter": "Tôi ở nơi sơ tán", "safety_place": "Hãy gửi tên nơi sơ tán bạn đang ở.",
        "safety_link": "Nhấn nút để gửi cho gia đình hoặc bạn bè. Thành phố không ghi lại người nhận.",
        "safety_share": "Gửi gia đình",
        "safety_msg_ok": "[Bình an] Tôi an toàn.", "safety_msg_shelter": "[Bình an] Tôi an toàn, đang ở nơi sơ tán: {place}",
        "shelter_words": "sơ tán|shelter",
    },
}


def t(key: str, lang: str = "ja", **kw: object) -> str:
    """The text for ``key`` in ``lang`` (fallback: ja-easy → ja; others → en → ja), formatted with ``kw``."""
    chain = ("ja-easy", "ja") if lang == "ja-easy" else (lang, "en", "ja")
    for code in chain:
        value = CATALOGUE.get(code, {}).get(key)
        if value is not None:
            return value.format(**kw) if kw else value
    raise KeyError(key)


def hazard_names(hazards: tuple[str, ...] | list[str], lang: str) -> str:
    sep = "、" if lang in ("ja", "ja-easy", "zh-Hans") else ", "
    return sep.join(t(f"hz.{h}", lang) for h in hazards)


def distance_label(metres: float) -> str:
    return f"{metres / 1000:.1f}km" if metres >= 1000 else f"{int(round(metres, -1))}m"
