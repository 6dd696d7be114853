"""Garbage questions written in English: 「how do I throw away a frying pan」 → フライパン.

Two routes, for any tenant:

* the items' own English names (``Item.name_en``, the optional ``name_en`` column of target.csv): a question's
  content words (lower case, light plural stemming, question and disposal words dropped) against each name's words;
* ``glossary_en.tsv``, generic garbage vocabulary (English phrase → the Japanese word city lists use), for a tenant
  whose list has no English names: the question becomes a Japanese query for the Japanese index.

The answer then comes in English through the i18n catalogues (``garbage.text.*``, ``garbage.category.*``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from bot.english import stem_plural
from garbage.model import Item

GLOSSARY = Path(__file__).parent / "glossary_en.tsv"
_JAPANESE = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u30fc\u4e00-\u9fff\uff66-\uff9f]")
_WORD = re.compile(r"[a-z0-9']+")
_PAREN = re.compile(r"\([^)]*\)")
# question, frame and disposal words: they say "this is a garbage question", not which item
STOP = frozenset(
    """a an the and or but if of to in on at by for from with about into as is are was were be been am do does did
    have has had i me my mine we our us you your it its they them their this that these those there here what which who
    when where why how can could should would will shall may might must want need please tell know let get got make
    like just also any some so too not no yes hello hi thanks thank one ok okay someone anything something way able
    throw threw thrown away out dispose disposal discard rid recycle recycled recycling put go goes going take
    garbage trash rubbish waste bin bins kind type sort sorted sorting category day days collection collected
    correct right properly separate separated normal regular usual household home house city ward
    old broken used empty unused unwanted leftover new big large small little""".split()
)
# size and state words that do name a variant (「カーペット（大きいもの）」= large carpet): kept in glossary phrases
_NAME_KEEP = frozenset({"big", "large", "small", "little", "used", "empty", "old"})
MIN_SCORE = 0.5
SEATS = 0.1  # a count of seats or people in the question within an item's count (3-seater → two or more seats), or not
_NUMBERS = {w: i for i, w in enumerate("one two three four five six seven eight nine ten".split(), start=1)}
_COUNT = re.compile(r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten)[ -]?(or more )?(seater|seats?|persons?|people)\b")
_FUNCTION = frozenset(
    "a an the of and or for with to in on at by from as my your our their its this that these those some any "
    "i me we us you it they them he she".split()
)
_SUBJECTS = frozenset("i we you it this that these those they he she one someone anyone people residents".split())


def is_english(text: str) -> bool:
    """Latin letters and no Japanese script: the question is for the English route."""
    norm = unicodedata.normalize("NFKC", text or "")
    return bool(re.search(r"[A-Za-z]", norm)) and not _JAPANESE.search(norm)


def words(text: str, *, keep: frozenset[str] = frozenset()) -> list[str]:
    norm = unicodedata.normalize("NFKC", text or "").lower().replace("’", "'").replace("-", " ")
    out = [w.removesuffix("'s").strip("'") for w in _WORD.findall(norm)]
    kept = [w for i, w in enumerate(out) if w and (w not in STOP or w in keep or (w == "can" and not _modal(out, i)))]
    return [stem_plural(w) for w in kept]


def name_words(text: str) -> list[str]:
    """Every word but articles, pronouns and 'can' as a verb, stemmed: the words of a name (「kitchen waste」 keeps
    its 'waste', 「empty can」 its 'empty')."""
    norm = unicodedata.normalize("NFKC", text or "").lower().replace("’", "'").replace("-", " ")
    out = [w.removesuffix("'s").strip("'") for w in _WORD.findall(norm)]
    return [stem_plural(w) for i, w in enumerate(out) if w and w not in _FUNCTION and not (w == "can" and _modal(out, i))]


def _modal(ws: list[str], i: int) -> bool:
    """'can' as a verb (「Can I…」「how can we…」), not the container (「empty cans」「the can」)."""
    return i == 0 or (i + 1 < len(ws) and ws[i + 1] in _SUBJECTS)


class EnglishNames:
    """Items by the words of their English names; a question scores each name by how much of it it covers."""

    def __init__(self, items: Sequence[Item]) -> None:
        self._names: list[tuple[int, frozenset[str], str, bool, str]] = []  # (item, words, head word, first?, name)
        self._by_word: dict[str, list[int]] = defaultdict(list)
        self._counts: dict[int, tuple[int, bool]] = {}  # item → (n, or more) of seats/people its names state
        for pos, item in enumerate(items):
            for n, name in enumerate(item.english_names()):
                if found := counts(name):
                    self._counts[pos] = found[0]
                main = name_words(_PAREN.sub(" ", name))
                if not main:
                    continue
                ws = frozenset(main + name_words(_paren(name)))
                k = len(self._names)
                self._names.append((pos, ws, main[-1], n == 0, name))  # head noun: the last word before a parenthesis
                for w in ws:
                    self._by_word[w].append(k)

    def search(self, text: str) -> list[tuple[int, float, str]]:
        """(item position, score 0..1, the English name that matched) best first. A name counts when its head word is in the
        question and it shares a content word with it (「kitchen knife」 is not 「kitchen waste」, 「which bin」 is
        not 「large bin」); score by the share of the name present and the share of the content words it covers."""
        every = set(name_words(text))
        content = set(words(text))  # without question, disposal and state words
        best: dict[int, tuple[float, str]] = {}
        for k in {k for w in every for k in self._by_word.get(w, ())}:
            pos, ws, head, first, name = self._names[k]
            matched, meant = len(ws & every), len(ws & content)
            if head not in every or (meant == 0 if content else matched < len(ws)):
                continue
            covered = meant / len(content) if content else 1.0
            # first name, and more words matched (「large carpet」 over 「carpet」), break ties
            score = 0.55 + 0.3 * matched / len(ws) + 0.13 * covered + 0.01 * first + 0.01 * min(1.0, (matched - 1) / 3)
            if pos in self._counts and (asked := counts(text)):
                n, more = self._counts[pos]
                score += SEATS if any(c == n or (more and c > n) for c, _ in asked) else -SEATS
            if score > best.get(pos, (0.0, ""))[0]:
                best[pos] = (min(score, 1.0), name)
        return sorted(((p, s, key) for p, (s, key) in best.items() if s >= MIN_SCORE), key=lambda t: (-t[1], t[0]))


def counts(text: str) -> list[tuple[int, bool]]:
    """Counts of seats or people (「3-seater」「two or more seats」 → (3, False), (2, True))."""
    norm = unicodedata.normalize("NFKC", text or "").lower()
    return [(int(m[1]) if m[1].isdigit() else _NUMBERS[m[1]], bool(m[2])) for m in _COUNT.finditer(norm)]


def _paren(name: str) -> str:
    m = _PAREN.search(name)
    return m.group(0)[1:-1] if m else ""


def load_glossary(path: Path = GLOSSARY) -> list[tuple[tuple[str, ...], str]]:
    """(English phrase words, Japanese word), longest phrase first; lines ``english<TAB>日本語``, ``#`` comments."""
    out: list[tuple[tuple[str, ...], str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or "\t" not in line:
            continue
        source, _, target = line.partition("\t")
        key = tuple(words(source, keep=_NAME_KEEP))
        if key and target.strip():
            out.append((key, target.strip()))
    out.sort(key=lambda p: -len(p[0]))
    return out


def to_japanese(text: str, glossary: Sequence[tuple[tuple[str, ...], str]]) -> tuple[list[str], float]:
    """The Japanese words the glossary knows in ``text`` (longest phrase first, in the question's order), and the
    share of the question's content words they cover (0..1)."""
    ws = words(text, keep=_NAME_KEEP)
    found: list[tuple[int, str]] = []
    used: set[int] = set()
    for key, ja in glossary:
        n = len(key)
        for i in range(len(ws) - n + 1):
            span = set(range(i, i + n))
            if tuple(ws[i : i + n]) == key and not span & used:
                found.append((i, ja))
                used |= span
    content = [i for i, w in enumerate(ws) if w not in _NAME_KEEP]
    covered = sum(1 for i in content if i in used) / len(content) if content else (1.0 if used else 0.0)
    return [ja for _, ja in sorted(found)], covered
