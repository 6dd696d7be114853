"""Questions in other languages: which language a message is in, analyzers fit for it, a cross-language route.

Two routes find an entry for a question written in, say, English:

* against the entries' English translations (``Translation.question`` + ``answer``) with an English analyzer
  (lower case, stop-words, a light suffix stemmer); Korean/Chinese text is split into character bigrams (no
  dictionary needed), Vietnamese into syllables and syllable pairs;
* against the Japanese entries through ``faq/glossary/<lang>.tsv``, a bilingual glossary of civic terms shipped with
  the project (phrase → Japanese terms): the question becomes a Japanese query for the main index. Runs on CPU,
  nothing downloaded; a word the glossary does not know lowers the route's confidence.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from bot.router import NluPort, Parse

GLOSSARIES = Path(__file__).parent / "glossary"

_KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30fa]")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f\u1e00-\u1eff]")
_VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9\u00c0-\u024f\u1e00-\u1eff']+")

EN_STOP = frozenset(["a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "from", "with", "about", "into", "over", "under", "as", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "done", "have", "has", "had", "having", "i", "me", "my", "mine", "we", "our", "us", "you", "your", "he", "she", "it", "its", "they", "them", "their", "this", "that", "these", "those", "there", "here", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "can", "could", "should", "would", "will", "shall", "may", "might", "must", "want", "wanted", "need", "needs", "needed", "please", "tell", "know", "let", "get", "got", "make", "like", "just", "also", "any", "some", "much", "many", "more", "most", "very", "so", "too", "not", "no", "yes", "hello", "hi", "thanks", "thank", "dear", "sir", "madam", "one", "ok", "okay", "would", "someone", "anyone", "something", "anything", "way", "ways", "able"])


def detect_language(text: str, preferred: str = "ja") -> str:
    """The language a message is written in: kana → Japanese (``ja-easy`` kept when preferred); Hangul → ``ko``;
    Latin words (two or more) → ``vi`` with Vietnamese letters, else the resident's Latin-script language or ``en``;
    Chinese characters without kana → the resident's language when it is Chinese, else Japanese."""
    sample = unicodedata.normalize("NFKC", text or "")
    if _KANA.search(sample):
        return preferred if preferred.startswith("ja") else "ja"
    if _HANGUL.search(sample):
        return "ko"
    latin = len(_LATIN.findall(sample))
    # one Latin word (「LINE」「ｘｙｚ」) is not yet another language for a resident who chose Japanese
    sentence = len(_WORD.findall(sample.lower())) >= 2 or not preferred.startswith("ja")
    if latin and sentence and latin >= len(_HAN.findall(sample)):
        if _VIETNAMESE.search(sample):
            return "vi"
        return preferred if preferred not in ("ja", "ja-easy", "ko", "vi") and not preferred.startswith("zh") \
            else "en"
    if _HAN.search(sample) and preferred.startswith("zh"):
        return preferred
    return preferred if preferred.startswith("ja") else "ja"


def stem_en(word: str) -> str:
    """A light English stemmer (plural, -ing, -ed, -ies): enough to meet 'bins'/'bin', 'moving'/'move'."""
    if len(word) <= 3:
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: len(word) - len(suffix)] + repl
            if suffix in ("ing", "ed") and len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]  # stopped → stop, running → run
            if suffix == "es" and not stem.endswith(("sh", "ch", "x", "s", "z", "o")):
                stem = word[:-1]  # boxes → box, but houses → house
            return stem
    return word


EN_STOP_STEMMED = EN_STOP | {stem_en(w) for w in EN_STOP}


def words(text: str, lang: str) -> list[str]:
    """Latin-script words of ``text`` (NFKC, lower case, possessive 's dropped); English ones stemmed."""
    norm = unicodedata.normalize("NFKC", text or "").lower().replace("’", "'")
    out = [w.removesuffix("'s").strip("'") for w in _WORD.findall(norm)]
    return [stem_en(w) if lang == "en" else w for w in out if w]


def terms(text: str, lang: str) -> list[str]:
    """Index terms of a non-Japanese text."""
    norm = unicodedata.normalize("NFKC", text or "").lower()
    if lang == "ko" or lang.startswith("zh"):
        out: list[str] = []
        for chunk in re.findall(r"[\w]+", norm):
            out.append(chunk)
            out.extend(chunk[i : i + 2] for i in range(len(chunk) - 1))
        return out
    found = words(norm, lang)
    if lang == "vi":
        return found + [f"{a}_{b}" for a, b in pairwise(found)]
    if lang == "en":
        return [w for w in found if w not in EN_STOP_STEMMED]
    return found


@dataclass(frozen=True)
class Glossary:
    """Phrase (stemmed words) → Japanese terms, for one language. Longest phrase wins, up to four words."""

    lang: str
    phrases: dict[tuple[str, ...], tuple[str, ...]]

    @classmethod
    def parse(cls, lang: str, text: str) -> Glossary:
        phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "\t" not in line:
                continue
            source, _, target = line.partition("\t")
            key = tuple(words(source, lang))
            japanese = tuple(t for t in re.split(r"[|｜]", target) if t.strip())
            if key and japanese:
                phrases[key] = tuple(dict.fromkeys(phrases.get(key, ()) + japanese))
        return cls(lang, phrases)

    def translate(self, text: str) -> tuple[str, float]:
        """A Japanese query for ``text`` and the share of its content words the glossary covered (0..1)."""
        found = words(text, self.lang)
        stop = EN_STOP_STEMMED if self.lang == "en" else frozenset()
        out: list[str] = []
        covered = content = 0
        i = 0
        while i < len(found):
            for n in (4, 3, 2, 1):
                key = tuple(found[i : i + n])
                if len(key) == n and key in self.phrases:
                    out.extend(self.phrases[key])
                    content_words = sum(1 for w in key if w not in stop) or 1
                    covered += content_words
                    content += content_words
                    i += n
                    break
            else:
                if found[i] not in stop and not found[i].isdigit():
                    content += 1
                i += 1
        return " ".join(out), (covered / content if content else 0.0)


@lru_cache(maxsize=16)
def glossary(lang: str) -> Glossary | None:
    """The shipped glossary for ``lang`` (None when the project has none for it)."""
    path = GLOSSARIES / f"{lang}.tsv"
    if not re.fullmatch(r"[A-Za-z-]{2,10}", lang) or not path.exists():
        return None
    return Glossary.parse(lang, path.read_text(encoding="utf-8"))


class ForeignIndex:
    """BM25 over one language's translations (question ×3 + answer ×1). Small: only translated entries."""

    def __init__(self, lang: str, docs: list[tuple[int, str, str]], k1: float = 1.2, b: float = 0.75) -> None:
        """``docs``: (position in the FaqIndex, translated question, translated answer)."""
        self.lang = lang
        self.rows = [pos for pos, _, _ in docs]
        fields = [(terms(q, lang), terms(a, lang)) for _, q, a in docs]
        n = len(docs) or 1
        avg_q = sum(len(q) for q, _ in fields) / n or 1.0
        avg_a = sum(len(a) for _, a in fields) / n or 1.0
        acc: dict[str, dict[int, float]] = {}
        for i, (q, a) in enumerate(fields):
            for field_terms, weight, avg in ((q, 3.0, avg_q), (a, 1.0, avg_a)):
                norm = 1 - b + b * len(field_terms) / avg
                for t, tf in Counter(field_terms).items():
                    acc.setdefault(t, {})
                    acc[t][i] = acc[t].get(i, 0.0) + weight * tf / norm
        self.weights: dict[str, dict[int, float]] = {}
        for t, postings in acc.items():
            idf = math.log(1 + (n - len(postings) + 0.5) / (len(postings) + 0.5))
            self.weights[t] = {i: idf * w * (k1 + 1) / (w + k1) for i, w in postings.items()}
        self.best = {t: max(p.values()) for t, p in self.weights.items()}
        self.best_any = max(self.best.values(), default=1.0)

    def search(self, query: str) -> tuple[list[tuple[int, float, float]], int]:
        """(position in the FaqIndex, score, confidence) best first, and how many query words no translation uses
        (they lower the confidence)."""
        q = Counter(terms(query, self.lang))
        if not q:
            return [], 0
        scores: Counter[int] = Counter()
        for t, n in q.items():
            for i, w in self.weights.get(t, {}).items():
                scores[i] += n * w
        ceiling = sum(n * self.best.get(t, 0.0) for t, n in q.items())
        ceiling += sum(n for t, n in q.items() if t not in self.best) * self.best_any * 0.5
        unknown = sum(1 for t in q if t not in self.best)
        return [(self.rows[i], s, min(1.0, s / ceiling) if ceiling else 0.0) for i, s in scores.most_common()], unknown


class JapaneseOnlyNlu:
    """The NLU port for a Japanese model: it guesses wildly on other languages ("How do I throw away a sofa?" →
    greet), so a message in another language gets ``unsure`` (the fallback parse) and the rooms decide — the FAQ
    through its cross-language route. The crisis check runs before the NLU and is not affected."""

    def __init__(self, inner: NluPort, unsure: Parse) -> None:
        self._inner = inner
        self._unsure = unsure

    async def parse(self, text: str) -> Parse:
        if not detect_language(text).startswith("ja"):
            return self._unsure
        return await self._inner.parse(text)
