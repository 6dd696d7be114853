"""Message catalogue of the reports room: every text a resident sees, in each language a tenant can offer.

Fallback rule (as the other rooms'): a missing ``ja-easy`` entry falls back to ``ja``, any other missing language to
``en``, then ``ja``. Quick-reply labels stay within LINE's 20 characters.
"""

from __future__ import annotations

LANGUAGES = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi")

TEXTS: dict[str, dict[str, str]] = {
    # ---- categories (the tenants file may override per language)
    "cat.pothole": {"ja": "道路の穴・段差", "ja-easy": "みちの あな・だんさ", "en": "Pothole / step in road", "zh-Hans": "道路坑洼・高低差", "ko": "도로 구멍・단차", "vi": "Ổ gà / mặt đường hư"},
    "cat.streetlight": {"ja": "街灯の不点灯", "ja-easy": "がいとうが つかない", "en": "Streetlight out", "zh-Hans": "路灯不亮", "ko": "가로등 고장", "vi": "Đèn đường không sáng"},
    "cat.playground": {"ja": "公園の遊具", "ja-easy": "こうえんの ゆうぐ", "en": "Park playground", "zh-Hans": "公园游乐设施", "ko": "공원 놀이기구", "vi": "Đồ chơi công viên"},
    "cat.mirror": {"ja": "カーブミラー", "ja-easy": "カーブミラー", "en": "Traffic mirror", "zh-Hans": "道路反光镜", "ko": "커브 미러", "vi": "Gương cầu lồi"},
    "cat.dumping": {"ja": "不法投棄", "ja-easy": "ごみの すてすぎ", "en": "Illegal dumping", "zh-Hans": "非法丢弃", "ko": "불법 투기", "vi": "Đổ rác trái phép"},
    "cat.graffiti": {"ja": "落書き", "ja-easy": "らくがき", "en": "Graffiti", "zh-Hans": "涂鸦", "ko": "낙서", "vi": "Vẽ bậy"},
    "cat.fallen_tree": {"ja": "倒木・枝", "ja-easy": "たおれた き・えだ", "en": "Fallen tree / branch", "zh-Hans": "倒树・树枝", "ko": "쓰러진 나무・가지", "vi": "Cây / cành đổ"},
    "cat.other": {"ja": "その他", "ja-easy": "そのほか", "en": "Other", "zh-Hans": "其他", "ko": "기타", "vi": "Khác"},
    # ---- statuses
    "status.received": {"ja": "受付", "ja-easy": "うけつけ", "en": "Received", "zh-Hans": "已受理", "ko": "접수", "vi": "Đã tiếp nhận"},
    "status.in_progress": {"ja": "対応中", "ja-easy": "なおして います", "en": "In progress", "zh-Hans": "处理中", "ko": "처리 중", "vi": "Đang xử lý"},
    "status.closed": {"ja": "完了", "ja-easy": "おわりました", "en": "Fixed", "zh-Hans": "已完成", "ko": "완료", "vi": "Đã xong"},
    "status.declined": {"ja": "対応できません", "ja-easy": "できません", "en": "Cannot be handled", "zh-Hans": "无法处理", "ko": "처리 불가", "vi": "Không thể xử lý"},
    # ---- the flow
    "ask_category": {
        "ja": "通報ありがとうございます。どのような内容ですか。下から選んでください。",
        "ja-easy": "しらせて くれて ありがとう ございます。なにが ありましたか。したから えらんで ください。",
        "en": "Thank you for reporting. What is it about? Please choose below.",
        "zh-Hans": "感谢您的报告。请从下面选择内容。",
        "ko": "신고해 주셔서 감사합니다. 어떤 내용입니까? 아래에서 선택해 주십시오.",
        "vi": "Cảm ơn bạn đã báo cáo. Nội dung là gì? Hãy chọn bên dưới.",
    },
    "ask_photo": {
        "ja": "「{category}」ですね。写真を送ってください（{max}枚まで）。カメラで撮るか、アルバムから選べます。写真がなければ「写真なし」を押してください。",
        "ja-easy": "「{category}」ですね。しゃしんを おくって ください（{max}まいまで）。しゃしんが なければ「写真なし」を おして ください。",
        "en": "\"{category}\". Please send photos (up to {max}) from the camera or album. No photo? Tap \"No photo\".",
        "zh-Hans": "“{category}”。请发送照片（最多{max}张），可拍照或从相册选择。没有照片请点“无照片”。",
        "ko": "「{category}」이군요. 사진을 보내 주십시오 (최대 {max}장). 카메라 또는 앨범에서 선택할 수 있습니다. 사진이 없으면 「사진 없음」을 눌러 주십시오.",
        "vi": "\"{category}\". Hãy gửi ảnh (tối đa {max} ảnh) từ máy ảnh hoặc album. Không có ảnh? Nhấn \"Không có ảnh\".",
    },
    "photo_ok": {
        "ja": "写真を受け取りました（{n}/{max}枚）。ほかにもあれば送ってください。終わったら「次へ」を押してください。",
        "ja-easy": "しゃしんを うけとりました（{n}/{max}まい）。おわったら「次へ」を おして ください。",
        "en": "Photo received ({n}/{max}). Send more, or tap \"Next\".",
        "zh-Hans": "已收到照片（{n}/{max}张）。还可以继续发送，完成后请点“下一步”。",
        "ko": "사진을 받았습니다 ({n}/{max}장). 더 보내시거나 「다음」을 눌러 주십시오.",
        "vi": "Đã nhận ảnh ({n}/{max}). Gửi thêm hoặc nhấn \"Tiếp\".",
    },
    "ask_location": {
        "ja": "場所を教えてください。「位置情報を送る」を押して、地図で場所を選んでください。",
        "ja-easy": "ばしょを おしえて ください。「位置情報を送る」を おして、ちずで えらんで ください。",
        "en": "Where is it? Tap \"Send location\" and pick the spot on the map.",
        "zh-Hans": "请告诉我们地点。点“发送位置”，在地图上选择。",
        "ko": "장소를 알려 주십시오. 「위치 보내기」를 눌러 지도에서 선택해 주십시오.",
        "vi": "Ở đâu? Nhấn \"Gửi vị trí\" và chọn trên bản đồ.",
    },
    "outside": {
        "ja": "その場所は{city}の区域外のようです。{city}内の場所を送ってください。",
        "ja-easy": "その ばしょは {city}では ありません。{city}の なかの ばしょを おくって ください。",
        "en": "That place seems to be outside {city}. Please send a location in {city}.",
        "zh-Hans": "该地点似乎不在{city}内。请发送{city}内的位置。",
        "ko": "그 장소는 {city} 밖인 것 같습니다. {city} 안의 위치를 보내 주십시오.",
        "vi": "Địa điểm đó có vẻ nằm ngoài {city}. Hãy gửi vị trí trong {city}.",
    },
    "duplicate": {
        "ja": "近くで同じ内容の通報がすでにあります（受付番号 {ref}、{date}受付、状況：{status}）。この通報に追加して、状況のお知らせを受け取りますか。",
        "ja-easy": "ちかくで おなじ つうほうが もう あります（{ref}、{date}、{status}）。この つうほうに ついかして、おしらせを うけとりますか。",
        "en": "This was already reported nearby (ref. {ref}, {date}, status: {status}). Add yours to it and get its updates?",
        "zh-Hans": "附近已有相同内容的报告（编号 {ref}，{date}受理，状态：{status}）。要加入该报告并接收进展通知吗？",
        "ko": "근처에 같은 내용의 신고가 이미 있습니다 (접수번호 {ref}, {date} 접수, 상황: {status}). 이 신고에 추가하여 알림을 받으시겠습니까?",
        "vi": "Đã có báo cáo giống vậy gần đó (số {ref}, ngày {date}, trạng thái: {status}). Thêm báo cáo của bạn vào đó và nhận thông báo?",
    },
    "followed": {
        "ja": "通報 {ref} に追加しました。状況が変わったらこのLINEでお知らせします。ご協力ありがとうございます。",
        "ja-easy": "つうほう {ref} に ついかしました。かわったら LINEで おしらせします。ありがとう ございます。",
        "en": "Added to report {ref}. We will tell you here when its status changes. Thank you!",
        "zh-Hans": "已加入报告 {ref}。状态变化时会通过LINE通知您。感谢您的协助。",
        "ko": "신고 {ref}에 추가했습니다. 상황이 바뀌면 LINE으로 알려 드리겠습니다. 감사합니다.",
        "vi": "Đã thêm vào báo cáo {ref}. Chúng tôi sẽ báo khi có thay đổi. Cảm ơn bạn!",
    },
    "ask_comment": {
        "ja": "補足があれば文章で送ってください（200字まで）。なければ「なし」を押してください。",
        "ja-easy": "ほかに つたえたい ことが あれば おくって ください。なければ「なし」を おして ください。",
        "en": "Anything to add? Send a short comment (200 characters), or tap \"None\".",
        "zh-Hans": "如有补充请发送文字（200字以内）。没有请点“无”。",
        "ko": "덧붙일 내용이 있으면 보내 주십시오 (200자까지). 없으면 「없음」을 눌러 주십시오.",
        "vi": "Bạn muốn thêm gì không? Gửi ghi chú ngắn (200 ký tự) hoặc nhấn \"Không\".",
    },
    "comment_long": {
        "ja": "コメントは200字までです。短くして送ってください。",
        "ja-easy": "200もじまでです。みじかく して ください。",
        "en": "Comments are limited to 200 characters. Please shorten it.",
        "zh-Hans": "补充说明最多200字，请缩短后发送。",
        "ko": "200자까지입니다. 줄여서 보내 주십시오.",
        "vi": "Ghi chú tối đa 200 ký tự. Hãy rút gọn.",
    },
    "confirm": {
        "ja": "この内容で通報しますか。\n種類：{category}\n写真：{photos}枚\n場所：{place}\nコメント：{comment}",
        "ja-easy": "これで つうほうしますか。\nしゅるい：{category}\nしゃしん：{photos}まい\nばしょ：{place}\nコメント：{comment}",
        "en": "Send this report?\nType: {category}\nPhotos: {photos}\nPlace: {place}\nComment: {comment}",
        "zh-Hans": "确认提交以下报告吗？\n种类：{category}\n照片：{photos}张\n地点：{place}\n补充：{comment}",
        "ko": "이 내용으로 신고하시겠습니까?\n종류: {category}\n사진: {photos}장\n장소: {place}\n코멘트: {comment}",
        "vi": "Gửi báo cáo này?\nLoại: {category}\nẢnh: {photos}\nĐịa điểm: {place}\nGhi chú: {comment}",
    },
    "done": {
        "ja": "通報を受け付けました。受付番号は {ref} です。状況が変わったらこのLINEでお知らせします。「通報の状況」でいつでも確認できます。",
        "ja-easy": "つうほうを うけつけました。ばんごうは {ref} です。かわったら LINEで おしらせします。",
        "en": "Report received. Your reference number is {ref}. We will tell you here when its status changes (\"My reports\").",
        "zh-Hans": "已受理您的报告。受理编号为 {ref}。状态变化时会通过LINE通知您。",
        "ko": "신고를 접수했습니다. 접수번호는 {ref}입니다. 상황이 바뀌면 LINE으로 알려 드리겠습니다.",
        "vi": "Đã tiếp nhận báo cáo. Số tham chiếu: {ref}. Chúng tôi sẽ báo khi có thay đổi.",
    },
    "cancelled": {
        "ja": "通報を取り消しました。写真などの内容は保存していません。",
        "ja-easy": "つうほうを やめました。しゃしんは のこして いません。",
        "en": "Report cancelled. Nothing was kept.",
        "zh-Hans": "已取消报告。照片等内容未保存。",
        "ko": "신고를 취소했습니다. 사진 등은 저장하지 않았습니다.",
        "vi": "Đã hủy báo cáo. Không lưu lại gì.",
    },
    "expired": {
        "ja": "時間がたったため、作成中の通報は取り消されました。もう一度「通報する」から始めてください。",
        "ja-easy": "じかんが たったので、つうほうは きえました。もういちど「通報する」から はじめて ください。",
        "en": "That report draft expired. Please start again with \"Report\".",
        "zh-Hans": "由于超时，正在填写的报告已取消。请从“报告”重新开始。",
        "ko": "시간이 지나 작성 중인 신고가 취소되었습니다. 「신고하기」부터 다시 시작해 주십시오.",
        "vi": "Báo cáo đang soạn đã hết hạn. Hãy bắt đầu lại với \"Báo cáo\".",
    },
    "photo_too_large": {
        "ja": "写真が大きすぎます（{mb}MBまで）。小さくして送ってください。",
        "ja-easy": "しゃしんが おおきすぎます（{mb}MBまで）。",
        "en": "That photo is too large (max {mb} MB). Please send a smaller one.",
        "zh-Hans": "照片太大（最大{mb}MB）。请发送较小的照片。",
        "ko": "사진이 너무 큽니다 (최대 {mb}MB). 작은 사진을 보내 주십시오.",
        "vi": "Ảnh quá lớn (tối đa {mb} MB). Hãy gửi ảnh nhỏ hơn.",
    },
    "photo_bad": {
        "ja": "この写真は受け取れませんでした（JPEGかPNGの写真を送ってください）。",
        "ja-easy": "この しゃしんは うけとれません（JPEGか PNGの しゃしんを おくって ください）。",
        "en": "I could not accept that file. Please send a JPEG or PNG photo.",
        "zh-Hans": "无法接收该文件。请发送JPEG或PNG照片。",
        "ko": "이 파일은 받을 수 없습니다. JPEG 또는 PNG 사진을 보내 주십시오.",
        "vi": "Không nhận được tệp này. Hãy gửi ảnh JPEG hoặc PNG.",
    },
    "photo_unavailable": {
        "ja": "写真を受け取れませんでした。もう一度送ってください。",
        "en": "I could not fetch that photo. Please send it again.",
        "zh-Hans": "未能接收照片，请重新发送。", "ko": "사진을 받지 못했습니다. 다시 보내 주십시오.",
        "vi": "Không tải được ảnh. Hãy gửi lại.",
    },
    "photo_max": {
        "ja": "写真は{max}枚までです。次に場所を教えてください。",
        "ja-easy": "しゃしんは {max}まいまでです。つぎに ばしょを おしえて ください。",
        "en": "Up to {max} photos. Next, please send the location.",
        "zh-Hans": "照片最多{max}张。接下来请发送地点。", "ko": "사진은 {max}장까지입니다. 다음으로 장소를 알려 주십시오.",
        "vi": "Tối đa {max} ảnh. Tiếp theo, hãy gửi vị trí.",
    },
    "waiting": {
        "ja": "いまは{what}をお待ちしています。やめるときは「やめる」を押してください。",
        "ja-easy": "いまは {what}を まって います。やめるときは「やめる」を おして ください。",
        "en": "I am waiting for {what}. Tap \"Cancel\" to stop.",
        "zh-Hans": "现在正在等待{what}。要停止请点“取消”。",
        "ko": "지금은 {what}을(를) 기다리고 있습니다. 그만두려면 「취소」를 눌러 주십시오.",
        "vi": "Đang chờ {what}. Nhấn \"Hủy\" để dừng.",
    },
    "what.category": {"ja": "通報の種類の選択", "ja-easy": "しゅるいの えらび", "en": "the type of report", "zh-Hans": "报告种类的选择", "ko": "신고 종류 선택", "vi": "loại báo cáo"},
    "what.photo": {"ja": "写真", "ja-easy": "しゃしん", "en": "a photo", "zh-Hans": "照片", "ko": "사진", "vi": "ảnh"},
    "what.location": {"ja": "位置情報", "ja-easy": "ばしょ", "en": "the location", "zh-Hans": "位置信息", "ko": "위치 정보", "vi": "vị trí"},
    "what.duplicate": {"ja": "追加するかどうかのお返事", "ja-easy": "へんじ", "en": "your answer", "zh-Hans": "您的回答", "ko": "답변", "vi": "câu trả lời"},
    "what.comment": {"ja": "コメント", "ja-easy": "コメント", "en": "a comment", "zh-Hans": "补充说明", "ko": "코멘트", "vi": "ghi chú"},
    "what.confirm": {"ja": "確認", "ja-easy": "かくにん", "en": "your confirmation", "zh-Hans": "确认", "ko": "확인", "vi": "xác nhận"},
    "rate_limited": {
        "ja": "短い時間にたくさんの通報をいただいたため、いまは受け付けできません。しばらくしてからお送りください。急ぎの危険は 110番・119番 へ。",
        "ja-easy": "たくさん つうほうが あったので、いまは うけつけ できません。しばらく まって ください。あぶない ときは 110ばん・119ばん へ。",
        "en": "You have sent many reports in a short time, so I cannot take another right now. Please try later. For danger call 110 or 119.",
        "zh-Hans": "短时间内报告过多，现在无法受理。请稍后再试。紧急危险请拨打110或119。",
        "ko": "짧은 시간에 신고가 많아 지금은 접수할 수 없습니다. 잠시 후 다시 보내 주십시오. 긴급 위험은 110・119로.",
        "vi": "Bạn đã gửi nhiều báo cáo trong thời gian ngắn nên hiện không thể nhận thêm. Hãy thử lại sau. Nguy hiểm gọi 110 hoặc 119.",
    },
    "list_empty": {
        "ja": "通報の記録はありません。「通報する」から送れます。",
        "ja-easy": "つうほうは まだ ありません。「通報する」から おくれます。",
        "en": "You have no reports. Send one with \"Report\".",
        "zh-Hans": "没有报告记录。可以从“报告”发送。", "ko": "신고 기록이 없습니다. 「신고하기」로 보낼 수 있습니다.",
        "vi": "Bạn chưa có báo cáo nào. Gửi bằng \"Báo cáo\".",
    },
    "list_head": {"ja": "あなたの通報（新しい順）", "ja-easy": "あなたの つうほう", "en": "Your reports (newest first)", "zh-Hans": "您的报告（按时间倒序）", "ko": "내 신고 (최신순)", "vi": "Báo cáo của bạn (mới nhất trước)"},
    "list_line": {"ja": "{ref}　{category}　{status}（{date}）", "en": "{ref}  {category}  {status} ({date})"},
    "status_push": {
        "ja": "通報 {ref}（{category}）の状況が「{status}」になりました。",
        "ja-easy": "つうほう {ref}（{category}）は「{status}」に なりました。",
        "en": "Your report {ref} ({category}) is now \"{status}\".",
        "zh-Hans": "报告 {ref}（{category}）的状态已变为“{status}”。",
        "ko": "신고 {ref} ({category})의 상황이 「{status}」(으)로 바뀌었습니다.",
        "vi": "Báo cáo {ref} ({category}) đã chuyển sang \"{status}\".",
    },
    "status_note": {"ja": "市からのお知らせ：{text}", "ja-easy": "しからの おしらせ：{text}", "en": "From the city (Japanese): {text}", "zh-Hans": "市政府留言（日语）：{text}", "ko": "시의 안내 (일본어): {text}", "vi": "Lời nhắn của thành phố (tiếng Nhật): {text}"},
    "dashboard_title": {"ja": "通報（種類別・状況別、統合分を除く）", "ja-easy": "つうほう（しゅるい・じょうきょう）", "en": "Reports by type and status (merged duplicates excluded)", "zh-Hans": "报告（按种类・状态）", "ko": "신고 (종류별・상황별)", "vi": "Báo cáo theo loại và trạng thái"},
    "none": {"ja": "なし", "ja-easy": "なし", "en": "none", "zh-Hans": "无", "ko": "없음", "vi": "không"},
    # ---- quick-reply labels (≤ 20 characters)
    "btn.next": {"ja": "次へ", "ja-easy": "つぎへ", "en": "Next", "zh-Hans": "下一步", "ko": "다음", "vi": "Tiếp"},
    "btn.no_photo": {"ja": "写真なし", "ja-easy": "しゃしん なし", "en": "No photo", "zh-Hans": "无照片", "ko": "사진 없음", "vi": "Không có ảnh"},
    "btn.camera": {"ja": "カメラ", "en": "Camera", "zh-Hans": "相机", "ko": "카메라", "vi": "Máy ảnh"},
    "btn.album": {"ja": "アルバム", "en": "Album", "zh-Hans": "相册", "ko": "앨범", "vi": "Album"},
    "btn.location": {"ja": "位置情報を送る", "ja-easy": "ばしょを おくる", "en": "Send location", "zh-Hans": "发送位置", "ko": "위치 보내기", "vi": "Gửi vị trí"},
    "btn.cancel": {"ja": "やめる", "ja-easy": "やめる", "en": "Cancel", "zh-Hans": "取消", "ko": "취소", "vi": "Hủy"},
    "btn.send": {"ja": "通報する", "ja-easy": "つうほうする", "en": "Send report", "zh-Hans": "提交报告", "ko": "신고하기", "vi": "Gửi báo cáo"},
    "btn.none": {"ja": "なし", "ja-easy": "なし", "en": "None", "zh-Hans": "无", "ko": "없음", "vi": "Không"},
    "btn.follow": {"ja": "追加する", "ja-easy": "ついかする", "en": "Add mine to it", "zh-Hans": "加入该报告", "ko": "추가하기", "vi": "Thêm vào"},
    "btn.new": {"ja": "別の通報にする", "ja-easy": "べつの つうほう", "en": "It is different", "zh-Hans": "是另一个问题", "ko": "다른 신고로", "vi": "Là việc khác"},
}


def t(key: str, language: str = "ja", **kw: object) -> str:
    """The catalogue text for ``language`` with the fallback rule above, formatted with ``kw``."""
    table = TEXTS[key]
    text = table.get(language)
    if text is None:
        text = table.get("ja") if language.startswith("ja") else (table.get("en") or table.get("ja"))
    return (text or "").format(**kw)
