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


HEADERS = st.sampled_from([
    b"Subject: =?utf-8?b?5aOw44GL44GR?=", b"Subject: =?iso-2022-jp?b?GyRCQmc6ZRsoQg==?=", b"Subject: =?x-bad?q?=FF?=",
    b"Subject: =?utf-8?b?!!!?=", b"Content-Type: text/plain; charset=\"iso-2022-jp\"", b"Content-Type: text/plain; charset*=utf-8''%FF",
    b"Content-Type: multipart/mixed; boundary=\"b\"", b"Content-Type: text/html; charset=shift_jis",
    b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: quoted-printable", b"Content-Transfer-Encoding: x-uue",
    b"Content-Disposition: attachment; filename=\"a.bin\"", b"Date: Thu, 31 Feb 2026 25:61:00 +9900", b"Date: yesterday",
    b"Message-ID: <\x00>", b"From: =?utf-8?q?=E5=A4=A7=0D=0ABcc:_x?= <a@b>",
])
BODIES = st.sampled_from([
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", b"--b--\r\n", b"=E5=A3=B0=\r\n", b"5aOw44GL44GR\r\n",
    "■声かけ\n11月1日午後3時頃、大阪市北区梅田1丁目付近で、男が声をかける事案が発生しました。\n".encode(),
    "■声かけ\n本日、堺市堺区南瓦町付近で事案が発生しました。\n".encode("cp932"), b"<p>&#x58f0;</p><script>", b"\x1b$B@<\x1b(B",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(HEADERS, max_size=6), st.lists(BODIES | st.binary(max_size=40), max_size=8))
def test_mime_shaped_mail(headers, bodies):
    data = b"\r\n".join(headers) + b"\r\n\r\n" + b"".join(bodies)
    try:
        n = parse_mail(data, received_at=REF)
    except NoticeError:
        return
    assert "\n" not in n.subject and "\r" not in n.subject
