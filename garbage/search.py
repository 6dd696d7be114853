"""Item search: 「ペットボトルのキャップ」「でんち」「ｽﾌﾟﾚｰ缶」「ソファー捨てたい」「how do I throw away a frying pan」.

Every item name, its base name (without the parenthesised qualifier), its furigana and the category labels become
keys in three forms: the folded surface (NFKC, width, katakana → hiragana), the Sudachi reading and the Sudachi
normalized form (``nlu.normalize``) — each with question words, particles and auxiliaries dropped, and in a loose
variant (no ー, small kana folded). A query gets the same forms for a few variants: dialect disposal verbs dropped
(ほかしたい), the part before a question frame (「かんでんちはなにごみ」 → かんでんち, also read as typed when all kana),
up to two common names of the lexicon replaced (スマホ → スマートフォン), the nouns of a description (障子の破れた紙 →
障子紙) and the word of the container table (``contained.tsv``: 時計の電池 → ボタン電池). Keys are scored by character bigrams
(Dice + how much of the key the query covers), with an exact match scoring 1 and a kana slip (ぺっどぼとる) 0.85;
candidates are items ranked by their best key, then two tie-breaks: a qualified name (カレンダー（汚れたもの）) ranks just
below the plain one unless the question names its qualifier, its words (``qualifiers.tsv``: 真っ黒 → 汚れ) or a count
of people in its range (3人掛け → 2人用以上) — then just above its siblings —, and an item named in the question ranks above a
category word in it (「脚立は粗大ごみ？」). Questions in English go to ``garbage.english`` (the items' English names,
else the English→Japanese glossary through the Japanese keys).
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from garbage.english import EnglishNames, is_english, load_glossary, to_japanese, words
from garbage.model import Category, Dataset, Item
from nlu.normalize import Morpheme, default_analyzer
from nlu.rasa_components.textfold import fold, fold_small_kana

LEXICON = Path(__file__).parent / "lexicon.tsv"
CONTAINED = Path(__file__).parent / "contained.tsv"
QUALIFIERS = Path(__file__).parent / "qualifiers.tsv"
SURE = 0.8  # top score at or above this, with MARGIN over a different item: answer directly
MARGIN = 0.08
ALONE = 0.7  # a lone candidate this good is answered too (枯れた花 → 花)
FLOOR = 0.52  # below: not found (look-alikes of things not in the list: カーテンレール → スカート at 0.49)
BEYOND_FRAME = 0.97  # the whole question, when the part before its frame is searched on its own
MAX_ALIASES = 2  # common names replaced per question, each in a variant of its own
ITEM_OVER_CATEGORY = 0.6  # an item this good ranks above a category word (「脚立は粗大ごみ？」 is about the 脚立)
NON_HEAD = 0.55  # a name inside a longer word but not at its end (傘 in 傘立て) names something else
MADE_FOR = 0.75  # a query that is only the X of an 「X用Y」 name (プリンター) names another thing
QUALIFIED = 0.02  # a qualified name (カレンダー（汚れたもの）) met without its qualifier ranks below the plain one…
QUALIFIER_MET = 0.03  # …and above its siblings when the question names the qualifier (陶器の植木鉢)
TYPO = 0.85  # a word that is a name of TYPO_MIN_LEN or more kana with one voicing mark wrong or two kana swapped
TYPO_MIN_LEN = 4  # shorter names are one mark away from other words (かき, かぎ)
IN_CONTAINER = 0.98  # 「時計の電池」: the word of the container table (ボタン電池), just below a name met exactly
NOUNS_ONLY = 0.95  # 「障子の破れた紙」 read as 障子紙: the nouns of a description, its verbs and adjectives dropped
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
_EN_FRAME = re.compile(
    r"\b(throw|thrown|dispose|disposal|discard|garbage|trash|rubbish|waste|recycl\w*|bins?|rid of|put out|"
    r"separat\w*|sort|collect\w*)\b",
    re.IGNORECASE,
)
_PAREN = re.compile(r"[（(][^）)]*[）)]")
# Kansai/western disposal verbs (ほかす, ほる, ほうる = 捨てる): Sudachi reads ほかし as 他 + する
_DIALECT = re.compile(r"ほか[さしすせそ]|ほうっ?[てたらる]|放[っるら]|ほっ[てた]|ほる(?=[かとのよなん?？。、\s]|$)")
# 「〜は何ごみ」「〜ってどう捨てる」「〜の捨て方」「〜って粗大ごみ？」: the part before the frame names the item
_FRAME_SPLIT = re.compile(
    r"^(?P<item>.{1,20}?)(は|って|の|を|も|、)\s*((何|なに|なん)(ごみ|ゴミ|の?日)|どう(やって|したら|すれば)?|どこ|"
    r"捨て|すて|出し|だし|出せ|だせ|分別|ぶんべつ|処分|しょぶん|いつ|何曜|なんよう|"
    r"燃え|燃や|もえ|もや|不燃|可燃|粗大|そだい|資源|しげん|有害|ごみ|ゴミ)"
)
_QUALIFIER_STOP = {"もの", "物", "以上", "製", "用", "式", "入り", "の", "など"}
# 汚れてない, 大きくない, 汚れなし, カビのない: the qualifier denied
_NEGATED = re.compile(r"^([てで]い?|く)?(ない|ません|なかっ)|^ず|^[がの]?(ない|無い|なし|無し)")
_NOUN_POS = {"名詞", "接頭辞", "接尾辞"}
_DESCRIBING_POS = {"動詞", "形容詞", "形状詞", "副詞", "連体詞"}  # dropped between nouns for the NOUNS_ONLY variant
# a count of people: 3人掛け, 二人用, ふたりがけ, 2P (sofas, tables); folded text (NFKC, lower case, hiragana)
_PEOPLE = re.compile(r"(\d+|[一二三四五六七八九十]|ひと|ふた)\s*(?:人|にん|り|p(?![a-z])|しーたー)")
_PEOPLE_QUALIFIER = re.compile(r"(\d+)人用(以上)?")
_KANJI_NUMBER = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)} | {"ひと": 1, "ふた": 2}
_CLAUSE_END = re.compile(r"[、。,.!?！？\s]")
_KATAKANA = re.compile(r"[ァ-ヺー]")
_KANJI = re.compile(r"[\u4e00-\u9fff々]")
_KANA_ONLY = re.compile(r"^[ぁ-ゖー]{2,}$")
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
    language: str = "ja"  # the language the question was matched in ("en": the English route)

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

    def __init__(
        self,
        ds: Dataset,
        analyzer: Analyzer,
        lexicon: Sequence[tuple[str, str]] = (),
        glossary: Sequence[tuple[tuple[str, ...], str]] | None = None,
        contained: Sequence[tuple[tuple[str, ...], tuple[str, ...], str]] | None = None,
        qualifier_words: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        """``glossary``: English → Japanese garbage words (``garbage.english``); ``contained``: (containers, contents,
        word) — 「時計の電池」 → ボタン電池; ``qualifier_words``: qualifier stem → words naming it (汚れ: 真っ黒 …);
        None = the ones shipped."""
        self._an = analyzer
        self._lexicon = list(lexicon)
        self._contained = list(default_contained() if contained is None else contained)
        self._qualifier_words = default_qualifier_words() if qualifier_words is None else qualifier_words
        self._people: dict[int, tuple[int, bool]] = {}  # target → (n, or more) of a 「N人用(以上)」 qualifier
        # the lexicon's Latin-script common names (PS5, iPad, VHS) count for questions in English too
        latin = [(tuple(words(alias)), word) for alias, word in self._lexicon if is_english(alias) and words(alias)]
        self._glossary = sorted([*latin, *(default_glossary() if glossary is None else glossary)], key=lambda p: -len(p[0]))
        self._english = EnglishNames(ds.items)
        self.dataset = ds
        self._cats = {c.label: c for c in ds.categories}
        self._targets: list[tuple[Item | None, Category | None]] = []
        self._keys: list[tuple[int, str, str, frozenset[str]]] = []  # (target, kind, text, bigrams)
        self._exact: dict[tuple[str, str], set[int]] = defaultdict(set)
        self._inverted: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._single: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._chars: dict[tuple[str, str], list[int]] = defaultdict(list)  # for one-character queries (油, 鍋)
        self._qualifiers: dict[int, tuple[str, ...]] = {}  # target → stems of its name's qualifier (汚れ, 陶器, 大き)
        for item in ds.items:
            names = {item.name, _PAREN.sub("", item.name).strip()}
            paren = _PAREN.search(item.name)
            if paren:
                self._qualifiers[len(self._targets)] = self._stems(paren.group(0)[1:-1])
                if people := _PEOPLE_QUALIFIER.search(unicodedata.normalize("NFKC", paren.group(0))):
                    self._people[len(self._targets)] = (int(people.group(1)), bool(people.group(2)))
            self._add((item, self._cats.get(item.category)), names, item.furigana)
        for cat in ds.categories:
            short = cat.sublabel if cat.sublabel and len(cat.sublabel) <= 6 and "・" not in cat.sublabel else ""
            self._add((None, cat), {cat.label, short} - {""}, "")  # 普通ごみ, not 申込制・有料

    def _stems(self, qualifier: str) -> tuple[str, ...]:
        """Content words of a qualifier, folded, an inflected word without its last kana (大きい → 大き)."""
        out = []
        for m in self._an.morphemes(qualifier):
            word = fold(m.normalized)
            if m.pos in _DROP_POS or m.normalized in _QUALIFIER_STOP or m.surface in _QUALIFIER_STOP or word.isdigit():
                continue
            if len(word) > 2 and "ぁ" <= word[-1] <= "ん" and not all("ぁ" <= c <= "ゖ" or c == "ー" for c in word):
                word = word[:-1]
            out.append(word)
        return tuple(out)

    def _qualifier_met(self, t: int, folded: str) -> bool:
        """The question names the qualifier: one of its stems or their words (汚れ: 真っ黒, におい), not negated; a
        count of people within a 「N人用(以上)」 qualifier (3人掛け → 2人用以上)."""
        if t in self._people and (counts := _people_counts(folded)):
            n, more = self._people[t]
            return any(c == n or (more and c > n) for c in counts)
        for stem in self._qualifiers.get(t, ()):
            for word in (stem, *self._qualifier_words.get(stem, ())):
                at = folded.find(word)
                while at >= 0:
                    if not _NEGATED.match(folded[at + len(word) :]):
                        return True
                    at = folded.find(word, at + 1)
        return False

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
        pieces = self._pieces(self._an.morphemes(text), keep_prefix=keep_prefix)
        return {kind: "".join(words) for kind, words in pieces.items()}

    @staticmethod
    def _content(morphemes: list[Morpheme], *, keep_prefix: bool = True) -> list[Morpheme]:
        return [
            m
            for m in morphemes
            if m.pos not in _DROP_POS
            and m.normalized not in _STOP
            and m.surface not in _STOP
            and (keep_prefix or m.pos != _PREFIX)
        ]

    @classmethod
    def _pieces(cls, morphemes: list[Morpheme], *, keep_prefix: bool = True) -> dict[str, list[str]]:
        """The content words among ``morphemes``, one string per word, in each form."""
        ms = cls._content(morphemes, keep_prefix=keep_prefix)
        if not ms:
            return {}
        return {
            "surface": [m.surface for m in ms],
            "reading": [m.reading for m in ms],
            "normalized": [m.normalized for m in ms],
        }

    def _variants(self, text: str) -> list[tuple[str, float]]:
        """(variant, weight): the question with dialect disposal verbs dropped (ほかしたい); when it has a question
        frame, the part before it (「かんでんちはなにごみ」 → かんでんち) first and the whole question weighing
        ``BEYOND_FRAME`` (a name across the frame, はな in 「…はなにごみ」, is no name); each with up to
        ``MAX_ALIASES`` common names of the lexicon replaced (katakana kept: PCのモニター → パソコンのモニター)."""
        text = _DIALECT.sub(" ", text)
        m = _FRAME_SPLIT.match(text)
        item = m.group("item") if m and m.group("item").strip() else ""
        bases = [(item, 1.0), (text, BEYOND_FRAME)] if item else [(text, 1.0)]
        out = [(v, weight) for base, weight in bases for v in (base, *self._aliased(base))]
        nouns = self._nouns_only(item or text)
        if nouns:
            out += [(v, NOUNS_ONLY) for v in (nouns, *self._aliased(nouns))]
        if word := self._in_container(text):
            out.append((word, IN_CONTAINER))
        return out

    def _nouns_only(self, text: str) -> str:
        """「障子の破れた紙」 → 障子紙: the nouns when verbs or adjectives stand between them ("" otherwise)."""
        kept: list[str] = []
        between = dropped = False
        for m in self._an.morphemes(text):
            if m.pos in _DROP_POS or m.normalized in _STOP or m.surface in _STOP:
                continue
            if m.pos in _NOUN_POS:
                between = between or (bool(kept) and dropped)
                kept.append(m.surface)
                dropped = False
            elif m.pos in _DESCRIBING_POS and kept:
                dropped = True
        # a description ends in its noun (「…紙」); one that ends in a verb (「…引き取ってもらえる」) is no name
        return "".join(kept) if between and not dropped and len(kept) >= 2 else ""

    def _in_container(self, text: str) -> str:
        """The word of the container table whose container and contents the question names, in that order and in
        one clause (「腕時計から出てきた丸い電池」 → ボタン電池; not 「リモコン捨てたい、電池は抜いた」). Of several, the
        one whose contents come last (the head of the phrase: 唐揚げの油を吸った紙 is a paper), then the longest
        container."""
        nfkc = unicodedata.normalize("NFKC", text)
        folded = fold(nfkc)  # one character for one
        best, rank = "", (-1, 0)
        for containers, contents, word in self._contained:
            for container in containers:
                at = folded.find(container)
                if at < 0:
                    continue
                start = at + len(container)
                clause = _CLAUSE_END.search(folded, start)
                stop = clause.start() if clause else len(folded)
                for content in contents:
                    found = folded.find(content, start, stop)
                    if found < 0 or _inside_a_word(nfkc, found, len(content)):
                        continue
                    if (found + len(content), len(container)) > rank:
                        best, rank = word, (found + len(content), len(container))
        return best

    def _aliased(self, text: str) -> list[str]:
        nfkc = unicodedata.normalize("NFKC", text).lower().replace("〜", "ー").replace("~", "ー")
        folded = fold(nfkc)  # same length as nfkc: folding is one character for one
        out: list[str] = []
        taken: list[tuple[int, int]] = []
        for alias, word in self._lexicon:
            at = folded.find(alias)
            if at < 0 or any(at < end and start < at + len(alias) for start, end in taken):
                continue
            taken.append((at, at + len(alias)))
            out.append(nfkc[:at] + word + nfkc[at + len(alias) :])
            if len(taken) >= MAX_ALIASES:
                break
        return out

    def search(self, text: str, limit: int = 5) -> SearchResult:
        if is_english(text):
            return self._search_english(text, limit)
        best: dict[int, tuple[float, str]] = {}
        for variant, weight in self._variants(text):
            seen: dict[tuple[str, str], frozenset[int]] = {}  # (kind, form) → where its words end
            morphemes = self._an.morphemes(variant)
            for keep in (True, False):
                for kind, pieces in self._pieces(morphemes, keep_prefix=keep).items():
                    for parts in (pieces, [loose(p) for p in pieces]):
                        form = "".join(parts)
                        seen[(kind, form)] = seen.get((kind, form), frozenset()) | set(itertools.accumulate(map(len, parts)))
            plain = re.sub(r"[\s、。?？!！]", "", fold(variant))
            if _KANA_ONLY.match(plain):  # all kana: a reading as typed (Sudachi cuts かんでんち into particles)
                for form in (plain, loose(plain)):
                    seen.setdefault(("reading", form), frozenset(range(len(form) + 1)))
            found: dict[int, tuple[float, str]] = {}
            for (kind, q), ends in seen.items():
                self._score(kind, q, found, ends)
            for t, (score, key) in found.items():
                if score * weight > best.get(t, (0.0, ""))[0]:
                    best[t] = (score * weight, key)
        return self._result(text, best, bool(_QUESTION_FRAME.search(fold(text))), limit)

    def _search_english(self, text: str, limit: int) -> SearchResult:
        """The items' English names; without a hit there, the glossary's Japanese words through the Japanese keys."""
        best: dict[int, tuple[float, str]] = {t: (score, key) for t, score, key in self._english.search(text)}
        if not best:
            found: dict[int, tuple[float, str]] = {}
            japanese, covered = to_japanese(text, self._glossary)
            for word in japanese:
                for kind, q in self.forms(word).items():
                    for form in {q, loose(q)}:
                        self._score(kind, form, found)
            # words the glossary does not know lower the match (「bicycle parking」 is not about a bicycle)
            best = {t: (score * (0.6 + 0.4 * covered), key) for t, (score, key) in found.items()}
        return self._result(text, best, bool(_EN_FRAME.search(text)), limit, language="en")

    def _result(
        self, text: str, best: dict[int, tuple[float, str]], framed: bool, limit: int, language: str = "ja"
    ) -> SearchResult:
        folded = fold(text)
        adjusted: dict[int, tuple[float, str]] = {}
        for t, (score, key) in best.items():
            if t in self._qualifiers and language == "ja":  # English names carry their own qualifiers
                score = min(1.0, score + QUALIFIER_MET) if self._qualifier_met(t, folded) else score - QUALIFIED
            adjusted[t] = (score, key)
        # an item named in the question outranks a category word in it (「脚立は粗大ごみ？」)
        item_named = any(s >= ITEM_OVER_CATEGORY and self._targets[t][0] is not None for t, (s, _) in adjusted.items())
        # equal scores: the longer key is the more specific match (ほんだな: 本棚 before 本)
        ranked = sorted(
            adjusted.items(), key=lambda kv: (item_named and self._targets[kv[0]][0] is None, -kv[1][0], -len(kv[1][1]), kv[0])
        )
        cands: list[Candidate] = []
        for t, (score, key) in ranked:
            if score < FLOOR or len(cands) >= limit:
                break
            item, cat = self._targets[t]
            cands.append(Candidate(item, cat, round(score, 4), key))
        rivals = [c for c in cands[1:] if c.item is not None or not item_named]
        top, second = (cands[0].score if cands else 0.0), (rivals[0].score if rivals else 0.0)
        confident = (top >= SURE and (top - second >= MARGIN or (top == 1.0 and second < 1.0))) or (top >= ALONE and not second)
        return SearchResult(text, tuple(cands), confident, framed, language)

    def _score(self, kind: str, q: str, best: dict[int, tuple[float, str]], ends: frozenset[int] | None = None) -> None:
        """``ends``: where the query's words end (None: anywhere); a name that ends inside a longer word is not the
        head of it (傘立て, カーテンレール name other things; 絵本, ビニール傘 are kinds of 本, 傘)."""
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
                if ends is not None and not _ends_a_word(q, key_text, ends):
                    score *= NON_HEAD
            elif kind != "reading" and len(q) < len(key_text) and q in key_text:  # part of a name: 油 → 食用油
                score = 0.55 + 0.35 * len(q) / len(key_text)
                # only what the item is for: a プリンター is no プリンター用インクカートリッジ
                if key_text.startswith(q) and key_text[len(q) :].lstrip("ー").startswith("用"):
                    score *= MADE_FOR
            else:
                dice = 2 * inter / (len(grams) + len(kg))
                score = min(0.97, 0.6 * dice + 0.4 * inter / len(kg))
                if ends is not None and len(key_text) >= TYPO_MIN_LEN and inter >= len(kg) - 3:
                    score = max(score, _typo_score(q, key_text, ends))
            if score > best.get(t, (0.0, ""))[0]:
                best[t] = (score, key_text)


def _typo_score(q: str, key: str, ends: frozenset[int]) -> float:
    """A word of the query that is the key with one kana's voicing mark added or dropped (ぺっどぼとる, ふらいばん;
    a kanji typo such as 充電気 is caught by its reading じゅうでんき): ``TYPO`` when it is the whole query, less
    inside a longer one; 0 otherwise. Other one-character changes too often make another word (ぷりんたー, ぷらんたー)."""
    n = len(key)
    for start in (0, *sorted(ends)):
        window = q[start : start + n]
        if len(window) == n and start + n in ends and _one_kana_slip(window, key):
            return TYPO if n == len(q) else 0.6 + 0.25 * n / len(q)
    return 0.0


def _inside_a_word(text: str, at: int, length: int) -> bool:
    """``text[at:at+length]`` ends a longer word: ボトル in ペットボトル (katakana), 紙 in 古紙 (one kanji after one)."""
    before = text[at - 1] if at > 0 else ""
    return bool(_KATAKANA.match(text[at]) and _KATAKANA.match(before)) or bool(length == 1 and _KANJI.match(before))


def _one_kana_slip(typed: str, key: str) -> bool:
    """One kana's voicing mark wrong (ぺっどぼとる) or two neighbours swapped (かみおつむ)."""
    diff = [i for i, (a, b) in enumerate(zip(typed, key)) if a != b]
    if len(diff) == 1:
        return _base_kana(typed[diff[0]]) == _base_kana(key[diff[0]])
    return len(diff) == 2 and diff[1] == diff[0] + 1 and typed[diff[0]] == key[diff[1]] and typed[diff[1]] == key[diff[0]]


def _base_kana(char: str) -> str:
    """The kana without its (semi-)voicing mark: ど → と, ぱ → は (a kanji stays itself)."""
    return unicodedata.normalize("NFD", char)[0]


def _ends_a_word(q: str, key: str, ends: frozenset[int]) -> bool:
    at = q.find(key)
    while at >= 0:
        if at + len(key) in ends:
            return True
        at = q.find(key, at + 1)
    return False


def _people_counts(folded: str) -> list[int]:
    return [int(n) if n.isdigit() else _KANJI_NUMBER[n] for n in (m.group(1) for m in _PEOPLE.finditer(folded))]


def load_contained(path: Path = CONTAINED) -> list[tuple[tuple[str, ...], tuple[str, ...], str]]:
    """(containers, contents, word), folded; lines ``container|…<TAB>content|…<TAB>word``, ``#`` comments."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if line.startswith("#") or len(parts) != 3:
            continue
        containers, contents = (tuple(fold(w.strip()) for w in p.split("|") if w.strip()) for p in parts[:2])
        if containers and contents and parts[2].strip():
            out.append((containers, contents, parts[2].strip()))
    return out


def load_qualifier_words(path: Path = QUALIFIERS) -> dict[str, tuple[str, ...]]:
    """Qualifier stem → words naming it, folded; lines ``stem<TAB>word|…``, ``#`` comments."""
    out: dict[str, tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stem, _, words_ = line.partition("\t")
        if line.startswith("#") or not stem.strip() or not words_.strip():
            continue
        out[fold(stem.strip())] = out.get(fold(stem.strip()), ()) + tuple(fold(w.strip()) for w in words_.split("|") if w.strip())
    return out


@functools.cache
def default_contained() -> tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...]:
    return tuple(load_contained())


@functools.cache
def default_qualifier_words() -> dict[str, tuple[str, ...]]:
    return load_qualifier_words()


@functools.cache
def default_glossary() -> tuple[tuple[tuple[str, ...], str], ...]:
    return tuple(load_glossary())


class LazyAnalyzer:
    """``nlu.normalize.default_analyzer`` loaded on the first search (the web process only edits, never searches)."""

    def morphemes(self, text: str) -> list[Morpheme]:
        return default_analyzer().morphemes(text)
