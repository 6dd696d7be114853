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
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from bot.english import stem_en
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
    """The language a message is written in: hiragana, or any kana from a resident who chose Japanese → Japanese
    (``ja-easy`` kept when preferred; katakana alone is a Japanese word mixed into another language); Hangul → ``ko``;
    Chinese characters without kana → the resident's language when it is Chinese (romanized Japanese words mixed
    in or not: 「juminhyo在哪里办」), else Japanese; Latin words (two or more, or any for a resident who did not
    choose Japanese) → ``vi`` with Vietnamese letters, else the resident's language or ``en``, whichever glossary
    knows more of the words, the resident's on a tie (a Vietnamese resident typing without accents stays Vietnamese,
    a Chinese resident's 「gomi」 is answered as theirs, an English sentence is English); text in another script →
    the resident's language."""
    sample = unicodedata.normalize("NFKC", text or "")
    japanese = preferred if preferred.startswith("ja") else "ja"
    # hiragana is Japanese; katakana alone may be a Japanese word mixed into another language (ゴミ怎么扔)
    if _KANA.search(sample) and (preferred.startswith("ja") or _HIRAGANA.search(sample)):
        return japanese
    if _HANGUL.search(sample):
        return "ko"
    han = len(_HAN.findall(sample))
    if han and preferred.startswith("zh"):
        return preferred
    latin = len(_LATIN.findall(sample))
    # one Latin word (「LINE」「ｘｙｚ」) is not yet another language for a resident who chose Japanese
    sentence = len(_WORD.findall(sample.lower())) >= 2 or not preferred.startswith("ja")
    if latin and sentence and latin >= han:
        if _VIETNAMESE.search(sample):
            return "vi"
        if preferred.startswith("ja") or preferred == "en":
            return "en"
        own, english = glossary(preferred), glossary("en")
        if own is None or english is None:  # a Latin-script language without a glossary: the resident's
            return "en" if preferred.startswith(("zh", "ko")) else preferred
        return preferred if own.known(sample) >= english.known(sample) else "en"
    if not han and not latin and any(c.isalpha() for c in sample) and not preferred.startswith("ja"):
        return preferred  # Thai, Devanagari, …: the resident's own language
    return japanese


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
    if lang == "vi":  # syllables and syllable pairs, as written and without accents (residents type both)
        plain = [fold_diacritics(w) for w in found]
        pairs = [f"{a}_{b}" for a, b in pairwise(found)]
        plain_pairs = [f"~{a}_{b}" for a, b in pairwise(plain)]
        return found + pairs + ["~" + w for w in plain] + plain_pairs
    if lang == "en":
        return [w for w in found if w not in EN_STOP_STEMMED]
    return found


def fold_diacritics(text: str) -> str:
    """Latin letters without their marks (tiếng việt → tieng viet, jūminhyō → juminhyo, đ → d)."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))


# A glossary unit: a Latin-script word, or one character of a script written without spaces between words (Han,
# kana, Hangul — Korean puts spaces between phrases, not before particles, so Hangul is matched like Chinese).
_UNIT = re.compile(r"[a-z0-9\u00c0-\u024f\u1e00-\u1eff']+|[\u3041-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7a3]")
_HIRAGANA = re.compile(r"[\u3041-\u3096]")


def _script(unit: str) -> str:
    """"latin", "kana", "hangul" or "han" for a glossary unit."""
    first = unit[0]
    if first < "\u3000":
        return "latin"
    if first <= "\u30ff":
        return "kana"
    return "hangul" if "\uac00" <= first <= "\ud7a3" else "han"
ROMAJI = "ja-Latn"  # romanized Japanese (gomi, juminhyo, my number): merged into every language's glossary


@dataclass(frozen=True)
class _Unit:
    text: str
    latin: bool
    word: int  # which space-separated chunk of the message it sits in


def units(text: str, lang: str) -> list[_Unit]:
    """``text`` as glossary units (NFKC, lower case; English words stemmed)."""
    norm = unicodedata.normalize("NFKC", text or "").lower().replace("’", "'")
    out: list[_Unit] = []
    word = 0
    last = 0
    for m in _UNIT.finditer(norm):
        if m.start() > last:  # a space or punctuation in between
            word += 1
        last = m.end()
        piece = m.group().removesuffix("'s").strip("'")
        if not piece:
            continue
        latin = piece[0] < "\u3000"
        out.append(_Unit(stem_en(piece) if latin and lang == "en" else piece, latin, word))
    return out


@dataclass(frozen=True)
class Glossary:
    """Phrase → Japanese terms, for one language; the cross-language route into the Japanese entries.

    One analyzer for every language: Latin-script words are units (English stemmed; Vietnamese syllables), and each
    Han/Hangul character is a unit, so Chinese (no spaces) and Korean (particles glued to nouns) are matched by
    longest match over characters. At every position the longest phrase wins; a phrase not found as written is
    looked up without diacritics (Vietnamese typed without accents, jūminhyō). A phrase mapped to ``-`` is a known
    word that carries no topic (怎么, 어떻게, tôi muốn): it neither adds to the query nor lowers the coverage.
    """

    lang: str
    phrases: dict[tuple[str, ...], tuple[str, ...]]
    folded: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    longest: int = 4

    @classmethod
    def parse(cls, lang: str, text: str, extra: str = "") -> Glossary:
        """``extra``: another glossary's text merged in first (the romanized-Japanese one); ``text`` wins."""
        phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for source_text in (extra, text):
            for line in source_text.splitlines():
                line = line.strip()
                if not line or line.startswith("#") or "\t" not in line:
                    continue
                source, _, target = line.partition("\t")
                key = tuple(u.text for u in units(source, lang))
                japanese = tuple(t.strip() for t in re.split(r"[|｜]", target) if t.strip() and t.strip() != "-")
                if key:
                    phrases[key] = tuple(dict.fromkeys(phrases.get(key, ()) + japanese))
        folded: dict[tuple[str, ...], tuple[str, ...]] = {}
        for key, japanese in phrases.items():
            plain = tuple(fold_diacritics(u) for u in key)
            folded[plain] = tuple(dict.fromkeys(folded.get(plain, ()) + japanese))
        return cls(lang, phrases, folded, max((len(k) for k in phrases), default=1))

    def _match(self, found: list[_Unit], i: int) -> tuple[int, tuple[str, ...]] | None:
        for n in range(min(self.longest, len(found) - i), 0, -1):
            key = tuple(u.text for u in found[i : i + n])
            if key in self.phrases:
                return n, self.phrases[key]
        for n in range(min(self.longest, len(found) - i), 0, -1):
            plain = tuple(fold_diacritics(u.text) for u in found[i : i + n])
            if plain in self.folded:
                return n, self.folded[plain]
        return None

    def translate(self, text: str) -> tuple[str, float]:
        """A Japanese query for ``text`` and the share of its content words the glossary covered (0..1).

        Content words: Latin words (English stop-words and numbers aside) count one each; a run of Han characters
        no phrase covers counts one per two characters (a rough word); a Hangul run left over next to a phrase in
        the same word (a particle or an ending: 쓰레기**를**, 신청**하려면**) counts nothing, a whole unknown
        Hangul word one. A kana run no phrase covers is a Japanese word the resident mixed in: it joins the query
        as it is, covered."""
        found = units(text, self.lang)
        stop = EN_STOP_STEMMED if self.lang == "en" else frozenset()
        out: list[str] = []
        covered = content = 0.0
        matched_words: set[int] = set()
        leftovers: list[list[_Unit]] = []
        i = 0
        while i < len(found):
            hit = self._match(found, i)
            if hit is not None:
                n, japanese = hit
                matched_words.update(u.word for u in found[i : i + n])
                if japanese:
                    out.extend(japanese)
                    weight = sum(1 for u in found[i : i + n] if u.latin and u.text not in stop) or 1
                    covered += weight
                    content += weight
                i += n
                continue
            u = found[i]
            if u.latin:
                if u.text not in stop and not u.text.isdigit():
                    content += 1
            elif leftovers and found[i - 1] is leftovers[-1][-1] and leftovers[-1][-1].word == u.word and \
                    _script(leftovers[-1][-1].text) == _script(u.text):
                leftovers[-1].append(u)
            else:
                leftovers.append([u])
            i += 1
        for run in leftovers:
            if _script(run[0].text) == "kana":  # a Japanese word mixed in (ゴミ, マイナンバー): it goes as it is
                out.append("".join(u.text for u in run))
                covered += 1
                content += 1
            elif _script(run[0].text) == "hangul":
                if run[0].word not in matched_words or len(run) > 3:
                    content += 1
            else:
                content += math.ceil(len(run) / 2)
        return " ".join(out), (covered / content if content else 0.0)

    def known(self, text: str) -> int:
        """How many of ``text``'s units the glossary knows (topic words and stop-words alike)."""
        found = units(text, self.lang)
        stop = EN_STOP_STEMMED if self.lang == "en" else frozenset()
        known = i = 0
        while i < len(found):
            hit = self._match(found, i)
            if hit is not None:
                known += hit[0]
                i += hit[0]
                continue
            known += found[i].text in stop
            i += 1
        return known


@lru_cache(maxsize=32)
def glossary(lang: str) -> Glossary | None:
    """The shipped glossary for ``lang`` (``faq/glossary/<lang>.tsv``, with the romanized-Japanese one merged in);
    None when the project has none for it. Any language with a file gets the route."""
    path = GLOSSARIES / f"{lang}.tsv"
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z]{2,4})?", lang) or lang == ROMAJI or not path.exists():
        return None
    romaji = GLOSSARIES / f"{ROMAJI}.tsv"
    extra = romaji.read_text(encoding="utf-8") if romaji.exists() else ""
    return Glossary.parse(lang, path.read_text(encoding="utf-8"), extra)


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
