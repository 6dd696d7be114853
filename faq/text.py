"""Japanese text → index terms: NFKC, SudachiPy normalized forms, kana folding, variant table, POS stop-words.

Residents write ゴミ/ごみ/塵, 申込/申し込み, ﾏｲﾅﾝﾊﾞｰ/マイナンバー; the city writes one of them. Everything that matches
goes through ``Analyzer.terms`` so the index and the query agree. SudachiPy tokenizers are not shared between threads
(indexes are rebuilt in a worker thread), hence one tokenizer per thread.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from sudachipy import Dictionary, SplitMode

# Parts of speech that carry no topic (particles, auxiliaries, punctuation, fillers, …).
STOP_POS = {"助詞", "助動詞", "補助記号", "記号", "空白", "接続詞", "感動詞", "フィラー"}
# Frequent light verbs / politeness / question words (Sudachi normalized forms, after kana folding).
STOP_LEMMAS = {
    "為る", "居る", "有る", "成る", "仕舞う", "下さる", "呉れる", "貰う", "頂く", "致す", "思う", "言う", "良い",
    "知る", "教える", "分かる", "出来る", "行く", "来る", "ある", "いる", "なる", "する", "こと", "もの", "ため",
    "よう", "ところ", "方", "どう", "何", "いつ", "どこ", "どの", "どれ", "誰", "どなた", "いくら", "など", "の",
    "ん", "さん", "様", "御", "お", "ご", "其れ", "此れ", "あれ", "それ", "これ", "その", "この", "そう", "こう",
    "場合", "について", "就く", "つく", "おる", "其の", "関する", "対する", "よろしい", "欲しい", "たい", "ない", "無い", "いい", "もう", "まだ", "今", "ちょっと",
}
# Variants Sudachi leaves apart (after NFKC + kana folding). Maps to one canonical term.
VARIANTS = {
    "塵": "ごみ", "芥": "ごみ", "粗大塵": "粗大ごみ", "生塵": "生ごみ", "粗大": "粗大",
    "子ども": "子供", "こども": "子供", "障害": "障がい", "障碍": "障がい", "しょうがい": "障がい",
    "まいなんばー": "マイナンバー", "マイナ": "マイナンバー",
    "申し込む": "申し込み", "申込": "申し込み", "届け出": "届出", "届け出る": "届出", "届ける": "届出",
    "無くす": "紛失", "なくす": "紛失", "失くす": "紛失", "落とす": "紛失",
    "引っ越し": "転居", "引っ越す": "転居", "引越し": "転居", "引越": "転居",
}
_KATA = re.compile(r"^[\u30a1-\u30f6\u30fc]+$")
_HIRA_OR_KATA = re.compile(r"^[\u3041-\u3096\u30a1-\u30f6\u30fc]+$")
_NOISE = re.compile(r"^[\W_]+$")


def normalize(text: str) -> str:
    """NFKC (full/half width, compatibility characters) and lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def fold_kana(term: str) -> str:
    """Katakana → hiragana for all-kana terms, so ゴミ and ごみ meet (long-vowel marks kept)."""
    if not _KATA.match(term):
        return term
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in term)


class Analyzer:
    """Turns text into index terms. ``mode`` is Sudachi's split mode ("A" short units, "C" long units)."""

    def __init__(self, mode: str = "A", variants: dict[str, str] | None = None, plain: bool = False) -> None:
        """``plain``: the baseline analyser (normalized forms minus punctuation; no stop-words, folding, variants)."""
        self.mode = {"A": SplitMode.A, "B": SplitMode.B, "C": SplitMode.C}[mode]
        self.mode_name = mode
        self.plain = plain
        self.variants = {fold_kana(normalize(k)): v for k, v in {**VARIANTS, **(variants or {})}.items()}
        self._local = threading.local()

    def _tokenizer(self):
        tok = getattr(self._local, "tok", None)
        if tok is None:
            tok = _dictionary().tokenizer(mode=self.mode)
            self._local.tok = tok
        return tok

    def terms(self, text: str) -> list[str]:
        return self.analyze(text)[0]

    def analyze(self, text: str) -> tuple[list[str], list[str]]:
        """(terms, synonym groups aligned with terms). Synonym groups come with SudachiDict (結婚/婚姻, 引っ越し/転居,
        パスポート/旅券 share a group id); each term gets a space-separated string of ``§<id>`` (often empty)."""
        text = normalize(text)
        if not text.strip():
            return [], []
        out: list[str] = []
        syn: list[str] = []
        # Sudachi refuses inputs over ~49 KB; FAQ answers are far shorter, but be safe.
        for chunk in _chunks(text, 8000):
            for m in self._tokenizer().tokenize(chunk):
                pos = m.part_of_speech()
                if self.plain:
                    if pos[0] not in ("補助記号", "空白"):
                        out.append(m.normalized_form())
                    continue
                if pos[0] in STOP_POS:
                    continue
                term = self.canonical(m.normalized_form())
                if not term or term in STOP_LEMMAS or _NOISE.match(term):
                    continue
                if len(term) == 1 and _HIRA_OR_KATA.match(term):
                    continue
                out.append(term)
                syn.append(" ".join(f"§{g}" for g in m.synonym_group_ids()))
        return out, syn

    def canonical(self, form: str) -> str:
        form = fold_kana(normalize(form))
        return self.variants.get(form, form)


def _chunks(text: str, size: int) -> Iterable[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


@lru_cache(maxsize=1)
def _dictionary() -> Dictionary:
    return Dictionary()
