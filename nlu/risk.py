"""Three-level risk assessment: several independent detectors, combined recall-first, with conversation context.

Detectors (all in-process; none needs Rasa):
1. the reviewed Japanese lexicon (``nlu/crisis.py``) on kana/width/slang-folded and Sudachi-normalized views;
2. the lexicon of the other languages (``nlu/crisis_intl.py``);
3. the statistical model (``nlu/crisis_model.py``): P(risk), P(crisis) and a category.

Operating point (README, "Crisis layer"): a hotline shown to someone who did not need it costs little; a missed person
costs everything. So any detector at high confidence → ``crisis``; weaker evidence → ``concern`` (a warm check-in with
two hotlines and the offer of a person). A lexicon crisis hit that the model scores as plainly everyday (P(risk) below
``lexicon_veto``) is such weaker agreement: on corpora the lexicon was not tuned on, its figurative false alarms
(蚊に殺される, ゲームでしにました) looked like that. Context: the model's risk scores of the resident's last messages
(numbers only, never text, kept for ``CONTEXT_WINDOW_S``) raise the level — 「もう疲れた」 then 「全部終わりにしたい」 is a
crisis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from nlu.crisis import CrisisDetector
from nlu.crisis_intl import IntlCrisisLexicon
from nlu.crisis_model import MODEL_PATH, Analysis, CrisisModel, analyse
from nlu.language import DetectedLanguage, LanguageDetectorPort
from nlu.normalize import JapaneseAnalyzer, default_analyzer

Level = Literal["crisis", "concern", "none"]
CONTEXT_WINDOW_S = 30 * 60
CONTEXT_TURNS = 5


@dataclass(frozen=True)
class Thresholds:
    """Chosen on the development evaluation sets A and B by rules stated in advance (nlu/crisis_eval/README.md, round 5;
    ``bench/crisis_thresholds.py`` applies them), then frozen."""

    crisis: float = 0.70  # P(crisis) of the model alone → crisis: lowest with ≤ 2 % figurative, ≤ 1 % everyday on A+B
    risk_crisis: float = 0.97  # P(risk) so high that it is a crisis even if the crisis head hesitates
    concern: float = 0.45  # P(risk) → concern: everyday check-ins just under 5 % on A+B (the alarm budget, spent)
    context_concern: float = 0.40  # P(risk) of this message → concern when the recent ones were risky
    context_prior: float = 0.50  # a recent message's P(risk) that counts as "risky" for context
    context_crisis: float = 0.50  # P(crisis) of this message → crisis when the recent ones were risky
    lexicon_veto: float = 0.40  # a lexicon crisis hit on Japanese text with P(risk) below → concern (≤ 1 point of A+B recall)


@dataclass(frozen=True)
class RiskAssessment:
    level: Level
    category: str | None  # set for crisis and concern
    severity: str | None  # immediate | high for crisis; None otherwise
    language: str | None  # detected language of the message (None = not sure)
    signals: tuple[str, ...]  # rule ids and rounded scores: safe to log, unlike the message
    risk: float  # the model's P(risk) for this message: what the conversation context remembers

    @property
    def flagged(self) -> bool:
        return self.level != "none"


NONE = RiskAssessment("none", None, None, None, (), 0.0)


class RiskAssessor:
    def __init__(self, lexicon: CrisisDetector, intl: IntlCrisisLexicon, model: CrisisModel | None,
                 languages: LanguageDetectorPort, analyzer: JapaneseAnalyzer,
                 thresholds: Thresholds | None = None) -> None:
        self.lexicon = lexicon
        self.intl = intl
        self.model = model
        self.languages = languages
        self.analyzer = analyzer
        self.thresholds = thresholds or Thresholds()

    def assess(self, text: str, recent: Sequence[float] = ()) -> RiskAssessment:
        """``recent``: P(risk) of the resident's previous messages in the context window, newest first."""
        if not text or not text.strip():
            return NONE
        t = self.thresholds
        analysis: Analysis = analyse(text, self.analyzer)
        detected: DetectedLanguage | None = self.languages.detect(text)
        language = detected.code if detected else None
        signals: list[str] = []
        level: Level = "none"
        category: str | None = None
        severity: str | None = None

        lex = self.lexicon.assess(text, normalized=analysis.normalized)
        if lex is not None:
            signals.append(f"lex:{lex.rule_id}")
            level = "concern" if lex.severity == "concern" else "crisis"
            category, severity = lex.category, (None if lex.severity == "concern" else lex.severity)
        intl = self.intl.assess(text) if not analysis.japanese or level == "none" else None
        if intl is not None:
            signals.append(f"intl:{intl.rule_id}")
            if language is None or (detected is not None and detected.confidence < 0.7):
                language = intl.language
            if intl.severity != "concern" and level != "crisis":
                level, category, severity = "crisis", intl.category, intl.severity
            elif level == "none":
                level, category = "concern", intl.category

        risk = 0.0
        if self.model is not None:
            s = self.model.score(analysis)
            risk = s.risk
            signals.append(f"model:{s.risk:.2f}/{s.crisis:.2f}")
            context = max(recent, default=0.0)
            if level == "crisis" and analysis.japanese and s.risk < t.lexicon_veto:
                # one detector sure, the other far from it: weaker agreement → a check-in, never silence. Japanese
                # text only: the model has seen few foreign messages, so its doubt there says little
                signals.append(f"veto:{s.risk:.2f}")
                level, severity = "concern", None
            if level != "crisis" and (s.crisis >= t.crisis or s.risk >= t.risk_crisis):
                level, severity = "crisis", "high"
                category = category or s.category
            elif level != "crisis" and context >= t.context_prior and s.crisis >= t.context_crisis:
                signals.append(f"ctx:{context:.2f}")
                level, severity = "crisis", "high"
                category = category or s.category
            elif level == "none" and (s.risk >= t.concern or (context >= t.context_prior
                                                              and s.risk >= t.context_concern)):
                if s.risk < t.concern:
                    signals.append(f"ctx:{context:.2f}")
                level, category = "concern", s.category
        if lex is not None or intl is not None:
            risk = max(risk, 0.9)  # a lexicon hit is remembered as risky context too
        return RiskAssessment(level, category, severity, language, tuple(signals), risk)


@lru_cache(maxsize=1)
def default_risk_assessor() -> RiskAssessor:
    """The shipped detectors (lexicons, model weights, lingua) — loaded once per process (≈ 1 s)."""
    analyzer = default_analyzer()
    model = CrisisModel() if MODEL_PATH.exists() else None
    return RiskAssessor(CrisisDetector(analyzer=analyzer), IntlCrisisLexicon(), model, LanguageDetectorPort(), analyzer)
