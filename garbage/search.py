"""Item search: 「ペットボトルのキャップ」「でんち」「ｽﾌﾟﾚｰ缶」「ソファー捨てたい」 → the item and its category.

Every item name, its base name (without the parenthesised qualifier), its furigana and the category labels become
keys in three forms: the folded surface (NFKC, width, katakana → hiragana), the Sudachi reading and the Sudachi
normalized form (``nlu.normalize``) — each with question words, particles and auxiliaries dropped, and in a loose
variant (no ー, small kana folded). A query gets the same forms, plus a variant per common name of the lexicon
(スマホ → スマートフォン). Keys are scored by character bigrams (Dice + how much of the key the query covers), with
an exact match scoring 1; candidates are items ranked by their best key.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from garbage.model import Category, Dataset, Item
from nlu.normalize import Morpheme, default_analyzer
from nlu.rasa_components.textfold import fold, fold_small_kana

LEXICON = Path(__file__).parent / "lexicon.tsv"
SURE = 0.8  # top score at or above this, with MARGIN over a different item: answer directly
MARGIN = 0.08
ALONE = 0.7  # a lone candidate this good is answered too (枯れた花 → 花)
FLOOR = 0.45  # below: not found
_DROP_POS = {"助詞", "助動詞", "補助記号", "空白", "接続詞", "感動詞"}
_PREFIX = "接頭辞"  # お皿 → 皿 for queries; kept in item names (おたま is not たま)
_STOP = {
    "捨てる",
    "すてる",
    "出す",
    "だす",
    "出せる",
    "捨てられる",
    "方",
    "かた",
    "出し方",
    "捨て方",
    "何",
    "なに",
    "なん",
    "ごみ",
    "塵",
    "日",
    "曜日",
    "何曜日",
    "いつ",
    "どう",
    "どの",
    "どこ",
    "どれ",
    "どうやって",
    "どうして",
    "分別",
    "分ける",
    "処分",
    "教える",
    "下さる",
    "ください",
    "知る",
    "良い",
    "いい",
    "する",
    "為る",
    "有る",
    "ある",
    "居る",
    "いる",
    "成る",
    "なる",
    "思う",
    "場合",
    "時",
    "方法",
    "仕方",
    "種類",
    "区分",
    "要る",
    "不要",
    "古い",
    "壊れる",
    "使う",
    "終わる",
    "たい",
    "です",
    "ます",
    "か",
    "ね",
    "よ",
    "出る",
    "入れる",
    "持つ",
    "行く",
    "くる",
    "来る",
    "聞く",
    "分かる",
    "わかる",
    "困る",
    "回収",
    "収集",
    "もの",
    "物",
    "こと",
    "事",
    "これ",
    "それ",
    "あれ",
    "この",
    "その",
    "いらない",
    "家",
    "うち",
    "なんの",
    "何の",
    "なんで",
    "でしょう",
    "だ",
    "ゴミ",
    "ごみ箱",
    "?",
    "方々",
    "宜しい",
    "よろしい",
    "やり方",
    "どっち",
    "について",
    "ついて",
    "付く",
    "可能",
    "大丈夫",
    "ok",
    "捨て",
    "出し",
    "しまう",
    "ちゃう",
    "いつ頃",
}
_QUESTION_FRAME = re.compile(
    r"ごみ|捨て|すて|出し方|だしかた|出せ|だせ|分別|ぶんべつ|処分|しょぶん|何曜|なんよう|回収|収集|しゅうしゅう|"
    r"りさいくる|リサイクル|燃え|燃や|もえ|もや|資源|しげん|粗大|そだい|どう(やって)?(すれば|したら)|出す|だす|出して|だして"
)
_PAREN = re.compile(r"[（(][^）)]*[）)]")
_LOOSE = str.maketrans({"ー": None, "・": None, "-": None, " ": None, "　": None})
KINDS = ("surface", "reading", "normalized")


class Analyzer(Protocol):
    def morphemes(self, text: str) -> list[Morpheme]: ...


@dataclass(frozen=True)
class Candidate:
    item: Item | None  # None when a whole category matched (「粗大ごみ」)
    category: Category | None
    score: float
    key: str  # the key that matched (for editors and tests)


@dataclass(frozen=True)
class SearchResult:
    query: str
    candidates: tuple[Candidate, ...]
    confident: bool
    framed: bool  # the message asks about garbage (捨て方, 何ごみ …), not only names something

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def loose(text: str) -> str:
    return fold_small_kana(text.translate(_LOOSE)).replace("ゔ", "ぶ").replace("ぢ", "じ").replace("づ", "ず")


def bigrams(text: str) -> frozenset[str]:
    if len(text) < 2:
        return frozenset([text]) if text else frozenset()
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def load_lexicon(path: Path = LEXICON) -> list[tuple[str, str]]:
    """(common name, word to search instead), folded; lines ``alias<TAB>word``, ``#`` comments."""
    out: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        alias, _, word = line.partition("\t")
        if alias.strip() and word.strip():
            out.append((fold(alias.strip()), word.strip()))
    out.sort(key=lambda p: -len(p[0]))  # longest alias first
    return out


class ItemIndex:
    """Immutable search index over one dataset (rebuilt when the tenant's data changes)."""

    def __init__(self, ds: Dataset, analyzer: Analyzer, lexicon: Sequence[tuple[str, str]] = ()) -> None:
        self._an = analyzer
        self._lexicon = list(lexicon)
        self.dataset = ds
        self._cats = {c.label: c for c in ds.categories}
        self._targets: list[tuple[Item | None, Category | None]] = []
        self._keys: list[tuple[int, str, str, frozenset[str]]] = []  # (target, kind, text, bigrams)
        self._exact: dict[tuple[str, str], set[int]] = defaultdict(set)
        self._inverted: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._single: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._chars: dict[tuple[str, str], list[int]] = defaultdict(list)  # for one-character queries (油, 鍋)
        for item in ds.items:
            names = {item.name, _PAREN.sub("", item.name).strip()}
            self._add((item, self._cats.get(item.category)), names, item.furigana)
        for cat in ds.categories:
            short = cat.sublabel if cat.sublabel and len(cat.sublabel) <= 6 and "・" not in cat.sublabel else ""
            self._add((None, cat), {cat.label, short} - {""}, "")  # 普通ごみ, not 申込制・有料

    def _add(self, target: tuple[Item | None, Category | None], names: Iterable[str], furigana: str) -> None:
        t = len(self._targets)
        self._targets.append(target)
        forms: set[tuple[str, str]] = set()
        for name in names:
            for kind, text in self.forms(name).items():
                forms |= {(kind, text), (kind, loose(text))}
        if furigana:
            forms |= {("reading", fold(furigana)), ("reading", loose(fold(furigana)))}
        for kind, text in forms:
            if not text:
                continue
            k = len(self._keys)
            grams = bigrams(text)
            self._keys.append((t, kind, text, grams))
            self._exact[(kind, text)].add(k)
            for g in grams:
                self._inverted[(kind, g)].append(k)
            if len(text) == 1:
                self._single[(kind, text)].append(k)
            for ch in set(text):
                self._chars[(kind, ch)].append(k)

    def forms(self, text: str, *, keep_prefix: bool = True) -> dict[str, str]:
        """surface / reading / normalized forms of the content words of ``text``."""
        ms = [
            m
            for m in self._an.morphemes(text)
            if m.pos not in _DROP_POS
            and m.normalized not in _STOP
            and m.surface not in _STOP
            and (keep_prefix or m.pos != _PREFIX)
        ]
        if not ms:
            return {}
        return {
            "surface": "".join(m.surface for m in ms),
            "reading": "".join(m.reading for m in ms),
            "normalized": "".join(m.normalized for m in ms),
        }

    def _variants(self, text: str) -> list[str]:
        folded = fold(text)
        out = [text]
        for alias, word in self._lexicon:
            if alias in folded:
                out.append(folded.replace(alias, word))
                break
        return out

    def search(self, text: str, limit: int = 5) -> SearchResult:
        best: dict[int, tuple[float, str]] = {}
        for variant in self._variants(text):
            seen: set[tuple[str, str]] = set()
            for keep in (True, False):
                for kind, q in self.forms(variant, keep_prefix=keep).items():
                    seen |= {(kind, q), (kind, loose(q))}
            for kind, q in seen:
                self._score(kind, q, best)
        framed = bool(_QUESTION_FRAME.search(fold(text)))
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))
        cands: list[Candidate] = []
        for t, (score, key) in ranked:
            if score < FLOOR or len(cands) >= limit:
                break
            item, cat = self._targets[t]
            cands.append(Candidate(item, cat, round(score, 4), key))
        top, second = (cands[0].score if cands else 0.0), (cands[1].score if len(cands) > 1 else 0.0)
        confident = (top >= SURE and (top - second >= MARGIN or (top == 1.0 and second < 1.0))) or (top >= ALONE and not second)
        return SearchResult(text, tuple(cands), confident, framed)

    def _score(self, kind: str, q: str, best: dict[int, tuple[float, str]]) -> None:
        if not q:
            return
        for k in self._exact.get((kind, q), ()):
            t = self._keys[k][0]
            if best.get(t, (0.0, ""))[0] < 1.0:
                best[t] = (1.0, self._keys[k][2])
        grams = bigrams(q)
        overlap: dict[int, int] = defaultdict(int)
        for g in grams:
            for k in self._inverted.get((kind, g), ()):
                overlap[k] += 1
        for ch in set(q):  # one-character names (皿, 本, 傘) have no bigram to share
            for k in self._single.get((kind, ch), ()):
                overlap.setdefault(k, 0)
        if len(q) == 1:  # a one-character query (油) is part of names: 食用油, てんぷら油
            for k in self._chars.get((kind, q), ()):
                overlap.setdefault(k, 0)
        for k, inter in overlap.items():
            t, _, key_text, kg = self._keys[k]
            if len(key_text) < len(q) and key_text in q:  # a name inside a longer phrase: 割れた皿, 絵本
                score = 0.6 + 0.3 * len(key_text) / len(q)
            elif kind != "reading" and len(q) < len(key_text) and q in key_text:  # part of a name: 油 → 食用油
                score = 0.55 + 0.35 * len(q) / len(key_text)
            else:
                dice = 2 * inter / (len(grams) + len(kg))
                score = min(0.97, 0.6 * dice + 0.4 * inter / len(kg))
            if score > best.get(t, (0.0, ""))[0]:
                best[t] = (score, key_text)


class LazyAnalyzer:
    """``nlu.normalize.default_analyzer`` loaded on the first search (the web process only edits, never searches)."""

    def morphemes(self, text: str) -> list[Morpheme]:
        return default_analyzer().morphemes(text)
