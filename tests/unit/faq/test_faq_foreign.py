"""Residents writing Chinese, Korean or Vietnamese (or any language with a glossary file): the analyzer of each
language, the shipped glossaries, the route into the Japanese entries, and the language the answer comes in."""

from __future__ import annotations

import pytest

import faq.lang as lang_module
from bot.chat import Incoming
from bot.config import Tenant
from faq.chat import FaqDeps, FaqRoom
from faq.demo import sample_entries
from faq.i18n import t
from faq.index import LiveIndex, build_index
from faq.lang import ROMAJI, ForeignIndex, Glossary, detect_language, fold_diacritics, glossary, terms
from faq.models import Translation
from faq.store import MemoryFaqStore
from faq.text import Analyzer

LANGUAGES = ("zh-Hans", "ko", "vi")


class Parse:
    def __init__(self, intent: str | None) -> None:
        self.intent = intent


def incoming(text: str, language: str) -> Incoming:
    tenant = Tenant(id="demo", display_name="デモ市", lg_code="271004",
                    languages=["ja", "ja-easy", "en", "zh-Hans", "ko", "vi"])
    return Incoming(tenant=tenant, user_id="U1", kind="text", webhook_event_id="e1", timestamp_ms=0, text=text,
                    language=language)


@pytest.fixture(scope="module")
def index():
    return build_index(sample_entries("demo").entries, Analyzer())


# -- analyzers ---------------------------------------------------------------------------------------------------


def test_chinese_is_matched_by_longest_phrase_without_spaces():
    g = Glossary.parse("zh-Hans", "垃圾\tごみ\n大型垃圾\t粗大ごみ\n我\t-\n想\t-\n扔\t捨てる\n")
    assert g.translate("我想扔大型垃圾") == ("捨てる 粗大ごみ", 1.0)  # 大型垃圾 beats 垃圾; 我/想 carry no topic
    japanese, coverage = g.translate("我想扔钢琴")  # 钢琴 (piano) is unknown: one word of two characters
    assert japanese == "捨てる" and coverage == 0.5


def test_korean_particles_and_endings_do_not_count_as_unknown_words():
    g = Glossary.parse("ko", "쓰레기\tごみ\n대형 쓰레기\t粗大ごみ\n버리\t捨てる\n싶어요\t-\n")
    assert g.translate("대형쓰레기를 버리고 싶어요") == ("粗大ごみ 捨てる", 1.0)  # spaces or not, 를/고 are particles
    assert g.translate("대형 쓰레기는 피아노") == ("粗大ごみ", 0.5)  # an unknown whole word counts


def test_vietnamese_is_matched_with_and_without_accents_and_keeps_tax_apart_from_rent():
    g = Glossary.parse("vi", "rác\tごみ\nghế sofa\t粗大ごみ\nthuế\t税金\nthuê nhà\t家賃\ntôi\t-\nmuốn\t-\nvứt\t捨てる\n")
    assert g.translate("Tôi muốn vứt ghế sofa") == g.translate("toi muon vut ghe sofa") == ("捨てる 粗大ごみ", 1.0)
    assert g.translate("thuế")[0] == "税金" and g.translate("thuê nhà")[0] == "家賃"
    assert fold_diacritics("Đăng ký jūminhyō") == "Dang ky juminhyo"


def test_a_katakana_word_mixed_into_another_language_goes_to_the_japanese_query_as_it_is():
    g = Glossary.parse("zh-Hans", "什么时候\t-\n收\t収集\n")
    assert g.translate("ゴミ什么时候收") == ("収集 ゴミ", 1.0)


def test_vietnamese_translations_are_indexed_with_and_without_accents():
    assert "~rac" in terms("rác", "vi") and "~rac_chay" in terms("rác cháy", "vi")
    index = ForeignIndex("vi", [(0, "Rác cháy được thu gom vào ngày nào?", "Hai lần một tuần."),
                                (1, "Thư viện mở cửa mấy giờ?", "Từ 9 giờ.")])
    assert index.search("rac chay thu gom ngay nao")[0][0][0] == 0


@pytest.mark.parametrize(("text", "preferred", "expected"), [
    ("juminhyo在哪里办", "zh-Hans", "zh-Hans"),  # romanized Japanese inside Chinese: still Chinese
    ("toi muon vut ghe sofa", "vi", "vi"),  # Vietnamese typed without accents
    ("How do I throw away a sofa?", "vi", "en"),  # an English sentence from a Vietnamese resident
    ("gomi", "zh-Hans", "zh-Hans"), ("juminhyo", "ko", "ko"),  # a Japanese word in Latin letters: the resident's
    ("Can I keep chickens in my garden?", "ko", "en"),
    ("ゴミ什么时候收", "zh-Hans", "zh-Hans"), ("マイナンバー카드", "ko", "ko"),  # a katakana word mixed in
    ("ゴミは何曜日", "zh-Hans", "ja"), ("マイナンバー", "ja", "ja"),  # hiragana, or a Japanese resident: Japanese
    ("대형 쓰레기", "zh-Hans", "ko"), ("ขยะ ทิ้ง", "th", "th"), ("粗大ごみ", "vi", "ja"),
])
def test_detect_language_for_mixed_and_unaccented_text(text, preferred, expected):
    assert detect_language(text, preferred) == expected


# -- the shipped glossaries --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "question", "terms_"), [
    ("zh-Hans", "我想扔掉旧沙发", {"粗大ごみ", "捨てる"}),
    ("zh-Hans", "个人编号卡的密码忘了", {"マイナンバーカード", "暗証番号", "忘れる"}),
    ("zh-Hans", "在哪里可以拿到住民票", {"住民票"}),
    ("zh-Hans", "国民健康保险交不起", {"国民健康保険", "払えない"}),
    ("ko", "대형 쓰레기를 버리고 싶어요", {"粗大ごみ", "捨てる"}),
    ("ko", "아동수당 신청 방법을 알려 주세요", {"児童手当", "申請"}),
    ("ko", "마이넘버카드를 잃어버렸어요", {"マイナンバーカード", "紛失"}),
    ("ko", "피난소가 어디예요?", {"避難所"}),
    ("vi", "Rác cháy được thu gom vào ngày nào?", {"燃えるごみ", "収集", "曜日"}),
    ("vi", "Tôi không đóng được bảo hiểm y tế quốc dân", {"国民健康保険", "払えない"}),
    ("vi", "Nơi sơ tán ở đâu?", {"避難所"}),
    ("vi", "dang ky ket hon", {"婚姻届"}),
])
def test_shipped_glossaries_cover_civic_questions(language, question, terms_):
    g = glossary(language)
    assert g is not None and len(g.phrases) > 400
    japanese, coverage = g.translate(question)
    assert terms_ <= set(japanese.split()) and coverage == 1.0, (japanese, coverage)


@pytest.mark.parametrize("language", ["en", *LANGUAGES])
def test_romanized_japanese_words_work_in_every_language(language):
    g = glossary(language)
    assert g is not None
    for word, japanese in (("juminhyo", "住民票"), ("jūminhyō", "住民票"), ("gomi", "ごみ"), ("hoikuen", "保育園"),
                           ("kokumin kenko hoken", "国民健康保険"), ("my number", "マイナンバー"),
                           ("zairyu card", "在留カード")):
        assert japanese in g.translate(word)[0].split(), (language, word)
    assert glossary(ROMAJI) is None  # merged into the others, not a language of its own


# -- the route ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "question", "expected"), [
    ("zh-Hans", "冰箱和洗衣机怎么扔", "gomi-003"),
    ("ko", "인감 등록을 하고 싶어요", "koseki-009"),
    ("vi", "Tôi quên mật khẩu thẻ my number", "mynumber-003"),
])
def test_a_question_reaches_the_japanese_entry_through_the_glossary(index, language, question, expected):
    assert language not in index.foreign  # the demo has English translations only
    assert index.search_foreign(question, language, 3)[0].id == expected


def test_any_language_with_a_glossary_file_gets_the_route(index, tmp_path, monkeypatch):
    question = "Como jogar fora um sofá?"
    assert index.search_foreign(question, "pt", 3) == []  # no translations, no glossary: nothing to go by
    (tmp_path / "pt.tsv").write_text("sofá\t粗大ごみ|ソファ\njogar fora\t捨てる|処分\ncomo\t-\num\t-\n",
                                     encoding="utf-8")
    monkeypatch.setattr(lang_module, "GLOSSARIES", tmp_path)
    glossary.cache_clear()
    try:
        assert index.search_foreign(question, "pt", 3)[0].id == "gomi-002"
        assert index.search_foreign("como jogar fora um sofa", "pt", 3)[0].id == "gomi-002"  # accents folded
        assert detect_language("Como jogar fora um sofá?", "pt") == "pt"
    finally:
        glossary.cache_clear()


# -- the answer's language, through the chat room ----------------------------------------------------------------

QUESTIONS = {"zh-Hans": "我想扔掉旧沙发", "ko": "소파를 버리고 싶어요", "vi": "Tôi muốn vứt ghế sofa cũ"}
OWN = {"zh-Hans": ("如何扔大型垃圾？", "大型垃圾需要提前预约。"), "ko": ("대형 쓰레기는 어떻게 버리나요?", "대형 쓰레기는 사전 신청제입니다."),
       "vi": ("Vứt rác cỡ lớn thế nào?", "Rác cỡ lớn phải đăng ký trước.")}


async def room_with(translations: dict[str, Translation]) -> FaqRoom:
    store = MemoryFaqStore()
    entries = sample_entries("demo").entries
    for entry in entries:
        if entry.id == "gomi-002":
            entry.translations = {**entry.translations, **translations}
    await store.put_many("demo", entries, who="test")
    return FaqRoom(FaqDeps(index=LiveIndex(store), store=store))


def body(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_untranslated_entry_comes_in_japanese_with_one_sentence_in_the_residents_language(language):
    room = await room_with({})
    messages = await room.on_text(incoming(QUESTIONS[language], language), Parse("nlu_fallback"))
    note = t("only_japanese", language)
    assert messages[0]["text"].startswith(f"{note}\n\nQ. 粗大ごみを出したいのですが")
    assert "粗大ごみ受付センター" in body(messages) and "Bulky garbage" not in body(messages)  # not the English
    assert messages[-1]["text"] == t("helpful", language)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_an_entry_in_the_residents_language_is_answered_in_it(language):
    question, answer = OWN[language]
    room = await room_with({language: Translation(question, answer)})
    messages = await room.on_text(incoming(QUESTIONS[language], language), Parse("nlu_fallback"))
    assert messages[0]["text"].startswith(f"Q. {question}\n\n{answer}")
    assert "粗大ごみ受付センター" not in body(messages)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_without_own_translation_easy_japanese_comes_before_japanese(language):
    room = await room_with({"ja-easy": Translation("おおきい ごみを すてたい", "まえに でんわで もうしこんで ください。")})
    messages = await room.on_text(incoming(QUESTIONS[language], language), Parse("nlu_fallback"))
    note = t("only_easy_japanese", language)
    assert messages[0]["text"].startswith(f"{note}\n\nQ. おおきい ごみを すてたい")
