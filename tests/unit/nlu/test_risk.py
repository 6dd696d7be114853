"""Three-level risk assessment: detectors combined recall-first, context, languages, honest data handling."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from nlu.crisis import CrisisDetector
from nlu.crisis_intl import IntlCrisisLexicon
from nlu.crisis_model import MODEL_PATH, CrisisModel, training_digest
from nlu.crisis_train import DEMO_FAQ, NLU_YML, frozen_texts, load_training, norm_text, read_tsv, training_files
from nlu.language import LanguageDetectorPort, reply_language
from nlu.normalize import default_analyzer
from nlu.risk import RiskAssessor, Thresholds, default_risk_assessor

REPO = Path(__file__).resolve().parents[3]
EVAL_DIR = REPO / "nlu" / "crisis_eval"
LANGUAGES = LanguageDetectorPort()


@dataclass
class FixedScores:
    risk: float
    crisis: float
    category: str = "suicide"
    category_p: float = 0.9


class FakeModel:
    """Stands in for the linear model: answers the scores it is given."""

    def __init__(self, risk: float, crisis: float) -> None:
        self.scores = FixedScores(risk, crisis)

    def score(self, analysis):
        return self.scores


def assessor(model=None, thresholds: Thresholds | None = None) -> RiskAssessor:
    analyzer = default_analyzer()
    return RiskAssessor(CrisisDetector(analyzer=analyzer), IntlCrisisLexicon(), model, LANGUAGES, analyzer,
                        thresholds or Thresholds())


def test_a_lexicon_hit_is_a_crisis_when_the_model_does_not_call_it_everyday():
    t = Thresholds(lexicon_veto=0.3)
    a = assessor(FakeModel(0.3, 0.01), t).assess("今から飛び降りる")
    assert (a.level, a.category, a.severity) == ("crisis", "suicide", "immediate")
    assert "lex:suicide.imminent_act" in a.signals and a.risk >= 0.9  # remembered as risky context


def test_a_lexicon_hit_the_model_calls_plainly_everyday_is_a_check_in_never_silence():
    t = Thresholds(lexicon_veto=0.3)
    a = assessor(FakeModel(0.29, 0.01), t).assess("今から飛び降りる")
    assert (a.level, a.category, a.severity) == ("concern", "suicide", None)
    assert "veto:0.29" in a.signals and a.risk >= 0.9  # still remembered as risky context
    # the model can still raise it again, and without the model the lexicon decides alone
    assert assessor(FakeModel(0.29, t.crisis), t).assess("今から飛び降りる").level == "crisis"
    assert assessor(None, t).assess("今から飛び降りる").level == "crisis"
    # the model knows few foreign messages: its doubt does not demote another language's lexicon
    assert assessor(FakeModel(0.01, 0.01), t).assess("I want to kill myself").level == "crisis"


def test_the_model_alone_raises_concern_then_crisis_as_its_confidence_grows():
    t = Thresholds()
    assert assessor(FakeModel(t.concern - 0.01, 0.1)).assess("今日はなんだかな").level == "none"
    assert assessor(FakeModel(t.concern, 0.1)).assess("今日はなんだかな").level == "concern"
    a = assessor(FakeModel(0.9, t.crisis)).assess("今日はなんだかな")
    assert (a.level, a.severity, a.category) == ("crisis", "high", "suicide")


def test_risk_accumulates_over_the_conversation():
    t = Thresholds()
    weak = FakeModel(t.context_concern, 0.1)  # alone: below concern
    assert assessor(weak).assess("もう無理かも").level == "none"
    assert assessor(weak).assess("もう無理かも", recent=[t.context_prior]).level == "concern"
    middling = FakeModel(t.concern, t.context_crisis)
    assert assessor(middling).assess("ほんまに", recent=[0.1, t.context_prior]).level == "crisis"
    assert assessor(middling).assess("ほんまに", recent=[0.1, 0.2]).level == "concern"


def test_without_the_model_the_lexicons_still_answer():
    a = assessor(None)
    assert a.assess("死にたい").level == "crisis"
    assert a.assess("粗大ごみの出し方").level == "none"


@pytest.mark.parametrize(("text", "language", "category"), [
    ("I want to kill myself", "en", "suicide"),
    ("toi muon chet", "vi", "suicide"),  # Vietnamese typed without diacritics
    ("Tôi muốn tự tử", "vi", "suicide"),
    ("我不想活了", "zh-Hans", "suicide"),
    ("죽고 싶어요", "ko", "suicide"),
    ("gusto ko nang mamatay", "tl", "suicide"),
    ("quero morrer", "pt", "suicide"),
    ("ma marna chahanchu", "ne", "suicide"),  # romanized Nepali: the rule tells the language
    ("saya ingin bunuh diri", "id", "suicide"),
    ("my husband choked me last night", "en", "dv"),
])
def test_foreign_language_danger_is_caught_and_its_language_known(text, language, category):
    a = assessor(None).assess(text)
    assert (a.level, a.category, a.language) == ("crisis", category, language)


@pytest.mark.parametrize(("text", "code"), [
    ("粗大ごみを出したい", "ja"), ("How do I throw away a sofa?", "en"), ("我想问一下垃圾分类", "zh-Hans"),
    ("쓰레기 버리는 날이 언제예요?", "ko"), ("Tôi muốn hỏi về rác", "vi"), ("मलाई सहयोग चाहियो", "ne"),
])
def test_language_detection(text, code):
    assert LANGUAGES.detect(text).code == code


def test_reply_language_keeps_easy_japanese_and_switches_for_a_clearly_other_language():
    assert reply_language(LANGUAGES.detect("しにたい").code, "ja-easy") == "ja-easy"
    assert reply_language(LANGUAGES.detect("I want to die").code, "ja") == "en"
    assert reply_language(None, "vi") == "vi"


def test_the_shipped_model_was_trained_on_the_training_files_as_they_are():
    model = CrisisModel(MODEL_PATH)
    assert model.training_sha256 == training_digest([*training_files(), NLU_YML, DEMO_FAQ]), (
        "nlu/crisis_training changed: retrain with `python -m nlu.crisis_train`")


def test_no_evaluation_message_appears_in_the_training_data():
    frozen = frozen_texts()
    assert len(list(EVAL_DIR.rglob("*.tsv"))) >= 8 and len(frozen) > 1000  # A and B at least, four files each
    in_files = [(p.name, r["text"]) for p in training_files() for r in read_tsv(p) if norm_text(r["text"]) in frozen]
    assert in_files == []  # nlu/crisis_training/dedupe.py keeps the files clean
    assert [e.text for e in load_training() if norm_text(e.text) in frozen] == []  # and the loader the shared data


def test_default_assessor_flags_danger_and_leaves_everyday_questions_alone():
    a = default_risk_assessor()
    assert a.assess("さっき手首切った、血が止まらない").level == "crisis"
    assert a.assess("燃えるごみは何曜日ですか").level == "none"
    assert a.assess("").level == "none"
