"""The FAQ room's texts per language (ja, ja-easy = やさしい日本語, en, zh-Hans, ko, vi).

One fallback rule: the resident's language, else やさしい日本語 for ``ja-*``, else English for other languages, else
Japanese. (Issue 15 brings one i18n module for every room; these keys move there unchanged.)
"""

from __future__ import annotations

LANGUAGE_NAMES = {"ja": "日本語", "ja-easy": "やさしい にほんご", "en": "English", "zh-Hans": "简体中文",
                  "ko": "한국어", "vi": "Tiếng Việt"}

_T: dict[str, dict[str, str]] = {
    "helpful": {
        "ja": "役に立ちましたか？", "ja-easy": "やくに たちましたか？", "en": "Was this helpful?",
        "zh-Hans": "这个回答有帮助吗？", "ko": "도움이 되었나요?", "vi": "Câu trả lời này có hữu ích không?",
    },
    "vote_up": {
        "ja": "👍 役に立った", "ja-easy": "👍 やくに たった", "en": "👍 Helpful", "zh-Hans": "👍 有帮助",
        "ko": "👍 도움이 됨", "vi": "👍 Hữu ích",
    },
    "vote_down": {
        "ja": "👎 役に立たなかった", "ja-easy": "👎 やくに たたなかった", "en": "👎 Not helpful",
        "zh-Hans": "👎 没有帮助", "ko": "👎 도움이 안 됨", "vi": "👎 Không hữu ích",
    },
    "more": {
        "ja": "詳しくはこちら:", "ja-easy": "くわしくは ここを みてください:", "en": "More details:",
        "zh-Hans": "详细信息：", "ko": "자세한 내용:", "vi": "Chi tiết:",
    },
    "truncated": {
        "ja": "…(続きは下のページをご覧ください)", "ja-easy": "…(つづきは したの ページを みてください)",
        "en": "… (continued on the page below)", "zh-Hans": "…（后续内容请见下方页面）",
        "ko": "…(이어지는 내용은 아래 페이지를 보세요)", "vi": "… (xem tiếp ở trang bên dưới)",
    },
    "omitted": {
        "ja": "…(以下省略)", "ja-easy": "…(ここまで)", "en": "… (shortened)", "zh-Hans": "…（以下省略）",
        "ko": "…(이하 생략)", "vi": "… (đã rút gọn)",
    },
    "only_japanese": {
        "ja": "", "ja-easy": "",
        "en": "This answer is only available in Japanese for now.",
        "zh-Hans": "此回答目前只有日语版本。",
        "ko": "이 답변은 현재 일본어로만 제공됩니다.",
        "vi": "Hiện câu trả lời này chỉ có bằng tiếng Nhật.",
    },
    "only_easy_japanese": {
        "ja": "", "ja-easy": "",
        "en": "This answer is only available in simple Japanese for now.",
        "zh-Hans": "此回答目前只有简明日语版本。",
        "ko": "이 답변은 현재 쉬운 일본어로만 제공됩니다.",
        "vi": "Hiện câu trả lời này chỉ có bằng tiếng Nhật đơn giản.",
    },
    "choices": {
        "ja": "お探しの内容は次のどれかに近いですか？\n{items}\n\n当てはまるものを選んでください。",
        "ja-easy": "もしかして つぎの どれかですか？\n{items}\n\nあう ものを えらんで ください。",
        "en": "Did you mean one of these?\n{items}\n\nPlease choose the one that fits.",
        "zh-Hans": "您是想问以下哪一个？\n{items}\n\n请选择符合的问题。",
        "ko": "혹시 다음 중 하나인가요?\n{items}\n\n해당하는 것을 선택해 주세요.",
        "vi": "Có phải bạn muốn hỏi một trong những câu sau?\n{items}\n\nVui lòng chọn câu phù hợp.",
    },
    "nothing": {
        "ja": "すみません、そのご質問に合う回答が見つかりませんでした。\n"
              "言い方を変えてもう一度送っていただくか、相談窓口や職員におつなぎすることもできます。",
        "ja-easy": "ごめんなさい。こたえが みつかりませんでした。\nちがう ことばで もう いちど おくるか、"
                   "しやくしょの ひとと はなすことも できます。",
        "en": "Sorry, I could not find an answer to that question.\n"
              "Please try other words, or I can connect you to a consultation desk or a staff member.",
        "zh-Hans": "抱歉，没有找到与您的问题相符的回答。\n请换一种说法再试，或者我们可以为您联系咨询窗口或工作人员。",
        "ko": "죄송합니다. 질문에 맞는 답변을 찾지 못했습니다.\n다른 말로 다시 보내 주시거나, 상담 창구나 직원에게 연결해 드릴 수 있습니다.",
        "vi": "Xin lỗi, chúng tôi không tìm thấy câu trả lời phù hợp.\n"
              "Vui lòng thử cách diễn đạt khác, hoặc chúng tôi có thể kết nối bạn với quầy tư vấn hay nhân viên.",
    },
    "thanks_up": {
        "ja": "ありがとうございます。お役に立ててよかったです。", "ja-easy": "ありがとうございます。やくに たって よかったです。",
        "en": "Thank you! Glad it helped.", "zh-Hans": "谢谢！很高兴能帮到您。", "ko": "감사합니다. 도움이 되어 기쁩니다.",
        "vi": "Cảm ơn bạn! Rất vui vì đã giúp được bạn.",
    },
    "thanks_down": {
        "ja": "ご意見ありがとうございます。回答の改善に役立てます。\nよろしければ、相談窓口や職員におつなぎすることもできます。",
        "ja-easy": "ありがとうございます。こたえを よく します。\nしやくしょの ひとと はなすことも できます。",
        "en": "Thank you for telling us. We will use it to improve our answers.\n"
              "If you like, I can connect you to a consultation desk or a staff member.",
        "zh-Hans": "感谢您的意见，我们会用来改进回答。\n如有需要，也可以为您联系咨询窗口或工作人员。",
        "ko": "의견 감사합니다. 답변 개선에 활용하겠습니다.\n원하시면 상담 창구나 직원에게 연결해 드립니다.",
        "vi": "Cảm ơn ý kiến của bạn. Chúng tôi sẽ dùng để cải thiện câu trả lời.\n"
              "Nếu muốn, chúng tôi có thể kết nối bạn với quầy tư vấn hoặc nhân viên.",
    },
    "already_voted": {
        "ja": "この回答へのご意見は、すでにいただいています。ありがとうございます。",
        "ja-easy": "この こたえへの いけんは もう もらっています。ありがとうございます。",
        "en": "We already have your feedback on this answer. Thank you.", "zh-Hans": "您已对此回答提供过意见，谢谢。",
        "ko": "이 답변에 대한 의견은 이미 받았습니다. 감사합니다.", "vi": "Chúng tôi đã nhận ý kiến của bạn về câu trả lời này. Cảm ơn.",
    },
    "consult": {
        "ja": "相談する", "ja-easy": "そうだん する", "en": "Consultation", "zh-Hans": "咨询", "ko": "상담하기",
        "vi": "Tư vấn",
    },
    "consult_text": {
        "ja": "相談したい", "ja-easy": "相談したい", "en": "I want to consult", "zh-Hans": "相談したい",
        "ko": "相談したい", "vi": "相談したい",
    },
    "person": {
        "ja": "人と話す", "ja-easy": "ひとと はなす", "en": "Talk to a person", "zh-Hans": "与工作人员交谈",
        "ko": "직원과 대화", "vi": "Nói chuyện với nhân viên",
    },
    "person_text": {
        "ja": "人と話したい", "ja-easy": "人と話したい", "en": "talk to a person", "zh-Hans": "人と話したい",
        "ko": "人と話したい", "vi": "人と話したい",
    },
}


def fallback_chain(language: str) -> list[str]:
    """The resident's language, then やさしい日本語 (for ja-*), English (for others), Japanese."""
    chain = [language]
    if language.startswith("ja"):
        chain += ["ja-easy", "ja"]
    else:
        chain += ["en", "ja"]
    return list(dict.fromkeys(chain))


def t(key: str, language: str = "ja", **kw: str) -> str:
    table = _T[key]
    for lang in fallback_chain(language):
        if lang in table:
            return table[lang].format(**kw) if kw else table[lang]
    return table["ja"]
