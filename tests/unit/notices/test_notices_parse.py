"""Parsing police notices: the five samples, MIME/charset variants, hostile and malformed mail."""

from __future__ import annotations

import base64
import datetime as dt
import email
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from alerts.notices.model import JST
from alerts.notices.parse import NoticeError, clean_header, parse_mail, parse_notice, read_mail

EXPECTED = {
    "01_koekake_kita.eml": ("声かけ", "2026-11-12T16:10:00+09:00", "大阪市北区梅田1丁目付近の路上", "曽根崎警察署"),
    "02_tsukimatoi_sakai.eml": ("つきまとい", "2026-11-13T18:30:00+09:00", "堺市堺区南瓦町付近の路上", "堺警察署"),
    "03_koekake_higashiosaka.eml": ("声かけ", "2026-11-16T15:00:00+09:00", "東大阪市若江北町3丁目付近の公園", "河内警察署"),
    "04_satsuei_toyonaka.eml": ("写真撮影", "2026-11-17T17:20:00+09:00", "豊中市上野東2丁目付近の路上", "豊中警察署"),
    "05_koekake_joto.eml": ("声かけ", "2026-11-20T17:00:00+09:00", "大阪市城東区蒲生1丁目付近の路上", "城東警察署"),
}
REF = dt.datetime(2026, 11, 25, 12, 0, tzinfo=JST)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_samples_parse_to_kind_time_place(samples, name):
    n = parse_mail(samples[name])
    kind, when, place, station = EXPECTED[name]
    assert (n.kind, n.occurred_at.isoformat(), n.place_text, n.station) == (kind, when, place, station)
    assert n.time_known
    assert n.suspect and "歳" in n.suspect and "■" not in n.suspect
    assert n.advice.endswith("ください。")
    assert "※" not in n.advice and "警察署" not in n.advice
    assert "事案が発生しました" in n.description


def test_suspect_keeps_every_published_line(samples):
    n = parse_mail(samples["05_koekake_joto.eml"])
    assert "黒色上衣" in n.suspect and "白色ワンボックス型の車両" in n.suspect


def _sample_text(samples, name="01_koekake_kita.eml") -> tuple[str, str]:
    mail = read_mail(samples[name])
    return mail.subject, mail.body


def _mime(subject: str, body: str, charset: str, cte: str, *, label: str | None = None) -> bytes:
    raw = body.encode(charset)
    if cte == "base64":
        payload = base64.encodebytes(raw).decode()
    else:
        import quopri

        payload = quopri.encodestring(raw).decode()
    head = (
        f"Subject: {Header(subject, charset).encode()}\r\nFrom: a@example.invalid\r\n"
        f"Date: Thu, 12 Nov 2026 16:52:00 +0900\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: text/plain; charset="{label or charset}"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n'
    )
    return head.encode() + payload.replace("\n", "\r\n").encode()


@pytest.mark.parametrize(
    "charset,cte,label",
    [
        ("iso-2022-jp", "base64", None),
        ("iso-2022-jp", "quoted-printable", None),
        ("shift_jis", "quoted-printable", None),
        ("euc-jp", "base64", None),
        ("utf-8", "quoted-printable", None),
        ("utf-8", "base64", "iso-8859-1"),  # wrong label: the bytes are UTF-8
        ("shift_jis", "base64", "x-unknown-charset"),  # unknown label
    ],
)
def test_charsets_and_transfer_encodings(samples, charset, cte, label):
    subject, body = _sample_text(samples)
    n = parse_mail(_mime(subject, body, charset, cte, label=label))
    assert n.kind == "声かけ" and n.place_text == "大阪市北区梅田1丁目付近の路上"
    assert n.subject.startswith("【安まちメール】")


def test_html_only_mail(samples):
    subject, body = _sample_text(samples, "03_koekake_higashiosaka.eml")
    html_body = "<html><head><style>p{color:red}</style></head><body>" + "".join(
        f"<p>{line}</p>" for line in body.split("\n")
    ) + "<script>alert(1)</script></body></html>"
    msg = MIMEText(html_body, "html", "utf-8")
    msg["Subject"] = Header(subject, "utf-8")
    n = parse_mail(msg.as_bytes())
    assert n.place_text == "東大阪市若江北町3丁目付近の公園"
    assert "alert(1)" not in n.description + n.advice + n.suspect
    assert "color" not in n.description


def test_huge_attachment_is_never_decoded(samples):
    subject, body = _sample_text(samples, "02_tsukimatoi_sakai.eml")
    msg = MIMEMultipart()
    msg["Subject"] = Header(subject, "utf-8")
    msg.attach(MIMEText(body, "plain", "utf-8"))
    msg.attach(MIMEApplication(b"\0" * (5 * 1024 * 1024), Name="big.bin"))
    data = msg.as_bytes()
    assert len(data) > 6 * 1024 * 1024
    n = parse_mail(data, max_bytes=256 * 1024)
    assert n.kind == "つきまとい" and n.place_text == "堺市堺区南瓦町付近の路上"


def test_header_injection_is_neutralized(samples):
    _, body = _sample_text(samples)
    evil = "=?utf-8?b?" + base64.b64encode("声かけ\r\nBcc: victim@example.invalid\r\n".encode()).decode() + "?="
    data = f"Subject: {evil}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".encode() + body.encode()
    n = parse_mail(data)
    assert "\r" not in n.subject and "\n" not in n.subject
    assert clean_header("a\x00b\r\nc") == "a b c"


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"", "empty mail"),
        (b"Subject: hi\r\nContent-Type: image/png\r\n\r\n\x89PNG....", "no readable text part"),
        ("Subject: 特殊詐欺にご注意\r\n\r\n■特殊詐欺\n市役所職員を名乗る電話が多発しています。".encode(), "no 不審者"),
        ("Subject: 声かけ\r\n\r\n■子どもに対する声かけ\n男が声をかけました。".encode(), "no place"),
        (bytes(range(256)) * 10, None),
    ],
)
def test_malformed_mail_raises_notice_error(data, reason):
    with pytest.raises(NoticeError) as err:
        parse_mail(data)
    if reason:
        assert reason in err.value.reason


def test_one_paragraph_form():
    text = (
        "【東大阪市で声かけ】9日15時頃、東大阪市若江北町3丁目付近で、下校中の女児に対して、男が「おいで」等と声を掛ける"
        "事案が発生しました。男は60歳位、白髪交じりの短髪、茶色長袖シャツ。子どもには、防犯ブザーを携行させてください。"
    )
    n = parse_notice("安まち情報", text, reference=REF)
    assert n.kind == "声かけ"
    assert n.occurred_at == dt.datetime(2026, 11, 9, 15, 0, tzinfo=JST)
    assert n.place_text == "東大阪市若江北町3丁目付近"
    assert n.suspect.startswith("60歳位") and "防犯ブザー" in n.advice
    assert n.municipality_hint == "東大阪市"


def test_labelled_layout():
    text = (
        "安全・安心情報（声かけ）\n発生日時：11月20日(金)午前7時半頃\n発生場所：吹田市江坂町1丁目の路上\n"
        "状況：登校中の女子児童が、男から「どこ行くの」と声をかけられました。\n不審者の特徴：40歳代、黒色帽子\n"
    )
    n = parse_notice("声かけ事案の発生", text, reference=REF)
    assert n.occurred_at == dt.datetime(2026, 11, 20, 7, 30, tzinfo=JST)
    assert n.place_text == "吹田市江坂町1丁目の路上" and n.suspect == "40歳代、黒色帽子"


@pytest.mark.parametrize(
    "when,reference,expected",
    [
        ("12月31日(木)午後11時頃", dt.datetime(2027, 1, 2, 9, 0, tzinfo=JST), dt.datetime(2026, 12, 31, 23, 0, tzinfo=JST)),
        ("30日正午頃", dt.datetime(2026, 12, 2, 9, 0, tzinfo=JST), dt.datetime(2026, 11, 30, 12, 0, tzinfo=JST)),
        ("本日午前8時10分頃", REF, dt.datetime(2026, 11, 25, 8, 10, tzinfo=JST)),
        ("昨日午後9時頃", REF, dt.datetime(2026, 11, 24, 21, 0, tzinfo=JST)),
        ("１１月２４日（火）午後４時頃", REF, dt.datetime(2026, 11, 24, 16, 0, tzinfo=JST)),
    ],
)
def test_dates_without_year_resolve_into_the_past(when, reference, expected):
    n = parse_notice("声かけ", f"■声かけ\n{when}、大阪市北区梅田1丁目付近の路上で、男が声をかける事案が発生しました。", reference=reference)
    assert n.occurred_at == expected and n.time_known


def test_time_later_than_the_mail_keeps_only_the_date():
    n = parse_notice("声かけ", "■声かけ\n本日午後11時頃、大阪市北区梅田1丁目付近で、男が声をかける事案が発生しました。", reference=REF)
    assert n.occurred_at == dt.datetime(2026, 11, 25, 0, 0, tzinfo=JST) and not n.time_known
    assert n.place_text == "大阪市北区梅田1丁目付近"


def test_date_only_is_flagged_without_time():
    n = parse_notice("声かけ", "■声かけ\n11月24日、大阪市北区梅田1丁目付近で、男が声をかける事案が発生しました。", reference=REF)
    assert n.occurred_at.date() == dt.date(2026, 11, 24) and not n.time_known


def test_forged_future_date_header_does_not_move_the_incident(samples):
    data = samples["01_koekake_kita.eml"].replace(b"Date: Thu, 12 Nov 2026", b"Date: Thu, 12 Nov 2099")
    n = parse_mail(data, received_at=REF)
    assert n.occurred_at.year == 2026


def test_mail_parser_accepts_email_message_bytes_roundtrip(samples):
    # the sample re-serialized by the stdlib (folded headers, CRLF) parses identically
    msg = email.message_from_bytes(samples["04_satsuei_toyonaka.eml"])
    assert parse_mail(msg.as_bytes()).place_text == "豊中市上野東2丁目付近の路上"


@pytest.mark.parametrize("charset", ["utf-8", "cp932", "euc-jp"])
def test_unencoded_8bit_subject_is_read(samples, charset):
    _, body = _sample_text(samples)
    data = "Subject: 【安まちメール】声かけ（大阪市北区）".encode(charset) + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    n = parse_mail(data + body.encode())
    assert n.subject == "【安まちメール】声かけ（大阪市北区）" and n.municipality_hint == "大阪市北区"
