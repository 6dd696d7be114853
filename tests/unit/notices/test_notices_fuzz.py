"""Whatever arrives in the mailbox, the parser either returns a Notice or raises NoticeError — nothing else."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.geo import Gazetteer
from alerts.notices.geocode import geocode
from alerts.notices.model import JST
from alerts.notices.parse import NoticeError, parse_mail, parse_notice

G = Gazetteer.load()
REF = dt.datetime(2026, 11, 25, 12, 0, tzinfo=JST)
PIECES = st.sampled_from([
    "■", "【", "】", "声かけ", "つきまとい", "盗撮", "露出", "不審者", "男の特徴", "防犯アドバイス", "警察署", "※", "\n", "、", "。",
    "11月", "31日", "13月", "0日", "(木)", "午後", "25時", "99分", "頃", "正午", "本日", "大阪市北区", "梅田", "1丁目", "付近",
    "の路上で", "事案が発生しました", "「", "」", "=?utf-8?b?", "?=", "Content-Type: text/html", "\r\n", "\x00", "ｹ", "丁",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes(data):
    try:
        parse_mail(data, received_at=REF)
    except NoticeError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES | st.text(max_size=5), max_size=60), st.lists(PIECES, max_size=8))
def test_notice_like_text(body, subject):
    try:
        n = parse_notice("".join(subject), "".join(body), reference=REF)
    except NoticeError:
        return
    assert n.occurred_at is None or n.occurred_at <= REF
    p = geocode(n.place_text, G, hint=n.municipality_hint)
    assert p.precision in ("town", "municipality", "none")
    assert (p.lat is None) == (p.precision == "none")
