"""The Rasa tokenizer (Python 3.10 venv) and the bot-side analyzer (Python 3.11) must see the same tokens, or the
fallback would learn different features from the same nlu.yml."""

from __future__ import annotations

import json
import subprocess

import pytest

from nlu import server as rasa_server
from nlu.normalize import JapaneseAnalyzer

pytestmark = pytest.mark.rasa

TEXTS = ["粗大ゴミを出したいんだけど😊", "ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞの申込", "しにたい", "茨木市の避難所はどこ？ 明日行きます"]

_SCRIPT = """
import json, sys
from rasa.shared.nlu.training_data.message import Message
from rasa_components.sudachi_tokenizer import SudachiTokenizer
tok = SudachiTokenizer({**SudachiTokenizer.get_default_config()})
out = []
for text in json.loads(sys.stdin.read()):
    tokens = tok.tokenize(Message(data={"text": text}), "text")
    out.append([[t.text, t.lemma, text[t.start:t.end]] for t in tokens])
print(json.dumps(out, ensure_ascii=False))
"""


def test_rasa_tokens_are_the_bot_side_normalized_forms_and_readings():
    if not rasa_server.rasa_available():
        pytest.skip(f"Rasa venv missing at {rasa_server.DEFAULT_VENV}: run nlu/scripts/setup_venv.sh")
    result = subprocess.run(
        rasa_server.rasa_command("python", "-c", _SCRIPT), input=json.dumps(TEXTS),
        capture_output=True, text=True, cwd=rasa_server.NLU_DIR, timeout=300, check=True,
    )
    rasa_tokens = json.loads(result.stdout.strip().splitlines()[-1])
    analyzer = JapaneseAnalyzer()
    for text, tokens in zip(TEXTS, rasa_tokens):
        expected = [[m.normalized, m.reading] for m in analyzer.morphemes(text)]
        assert [t[:2] for t in tokens] == expected, text
        assert all(surface.strip() for _, _, surface in tokens)  # offsets point at the original text
    assert rasa_tokens[0][0][0] == "粗大塵" and rasa_tokens[1][0][0] == "まいなんばーかーど"
