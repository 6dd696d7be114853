"""Police 不審者 notices (安まちメール and look-alikes) → ``Notice``.

Two steps, each failing with a ``NoticeError`` that says why, so the caller puts the raw text on the admin review
list instead of losing it:

* ``read_mail(data)`` — MIME to text, whatever the sender did: ISO-2022-JP / Shift_JIS / EUC-JP / UTF-8, base64
  or quoted-printable, a wrong or unknown charset label, HTML only, big attachments (never decoded), CR/LF smuggled
  into encoded headers (control characters are stripped from every header we keep).
* ``parse_notice(subject, body, reference)`` — the layout in ``tests/fixtures/police_mail/LAYOUT.md``: a 「■heading」
  section with the situation sentence (date, time, place, 「…」等 words), 「■男の特徴」, 「■防犯アドバイス」, the
  sending 警察署 and ※ footer lines; also the one-paragraph form 「【東大阪市で声かけ】9日15時頃、…」 and labelled
  lines (発生日時：/発生場所：/状況：).

Dates usually come without a year (「11月12日(木)午後4時10分頃」, sometimes 「9日」 or 「本日」): they are resolved
against the mail's Date header, never into the future.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import re
import unicodedata
from dataclasses import dataclass
from email.header import decode_header
from email.message import Message
from html.parser import HTMLParser

from alerts.notices.model import JST, KIND_SYNONYMS, KINDS, Notice

MAX_MAIL_BYTES = 2 * 1024 * 1024  # a notice is ~2 KB; bigger mail is read from its first bytes only (see read_mail)
MAX_TEXT_CHARS = 20_000


class NoticeError(ValueError):
    """Not a notice civicbot can act on; ``reason`` is short and shown on the review list."""

    def __init__(self, reason: str, *, subject: str = "", text: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.subject = subject
        self.text = text


@dataclass(frozen=True)
class MailText:
    subject: str
    body: str
    date: dt.datetime | None
    message_id: str
    sender: str


# --- MIME ---------------------------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_CHARSET_ALIASES = {
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "windows-31j": "cp932",
    "ms932": "cp932", "iso-2022-jp": "iso2022_jp_ext", "iso-2022-jp-ms": "iso2022_jp_ext",
    "iso-2022-jp-1": "iso2022_jp_1", "iso-2022-jp-2": "iso2022_jp_2", "euc-jp": "euc_jp", "x-euc-jp": "euc_jp",
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
}
_LATIN = {"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252"}


def clean_header(value: str, limit: int = 300) -> str:
    """One line, no control characters: a decoded header can carry CR/LF (header injection) or NULs."""
    return _CONTROL.sub(" ", value or "").strip()[:limit]


def decode_text(payload: bytes, charset: str | None) -> str:
    """Bytes → str, trusting the label only when it decodes cleanly; Japanese encodings are tried next."""
    label = (charset or "").strip().strip('"').lower()
    order: list[str] = []
    if b"\x1b$" in payload or b"\x1b(" in payload:
        order.append("iso2022_jp_ext")
    if label and label not in _LATIN:
        order.append(_CHARSET_ALIASES.get(label, label))
    order += ["utf-8", "cp932", "euc_jp"]
    if label in _LATIN:
        order.append("cp1252")
    for enc in dict.fromkeys(order):
        try:
            return payload.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


def _raw_header(msg: Message, name: str) -> str | None:
    """The header as parsed (str; raw 8-bit bytes kept as surrogate escapes) — ``msg.get`` would wrap 8-bit
    headers in a ``Header`` whose text is lost."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return value if isinstance(value, str) else str(value)
    return None


def _header(msg: Message, name: str) -> str:
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    if any("\udc80" <= ch <= "\udcff" for ch in raw):
        # unencoded 8-bit header (sloppy senders put UTF-8 or Shift_JIS straight in): guess the charset
        return clean_header(decode_text(raw.encode("ascii", "surrogateescape"), None))
    try:
        parts = decode_header(raw)
    except Exception:  # noqa: BLE001 - malformed encoded words: keep the raw header text
        return clean_header(str(raw))
    out = []
    for value, cs in parts:
        out.append(decode_text(value, cs) if isinstance(value, bytes) else value)
    return clean_header("".join(out))


class _TextOnly(HTMLParser):
    """HTML → text with line breaks at block elements; scripts and styles dropped."""

    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data):  # noqa: ANN001
        if not self._skip:
            self.out.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextOnly()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # noqa: BLE001 - broken markup: fall back to stripping tags
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    return "".join(parser.out)


def read_mail(data: bytes, *, max_bytes: int = MAX_MAIL_BYTES) -> MailText:
    """The subject and the readable body of a mail. Text/plain wins over HTML; attachments are never decoded.

    Mail larger than ``max_bytes`` is read from its first ``max_bytes`` (the text part of a notice comes first;
    what follows is attachments), so a huge attachment costs nothing.
    """
    if not data or not data.strip():
        raise NoticeError("empty mail")
    msg = email.message_from_bytes(data[:max_bytes], policy=email.policy.compat32)
    subject = _header(msg, "Subject")
    date = None
    try:
        parsed = email.utils.parsedate_to_datetime(_header(msg, "Date")) if msg.get("Date") else None
        if parsed is not None and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=JST)
        date = parsed.astimezone(JST) if parsed else None
    except (TypeError, ValueError, IndexError, OverflowError):
        date = None
    plain: list[str] = []
    markup: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = (part.get("Content-Disposition") or "").lower()
        if disposition.startswith("attachment"):
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001 - broken transfer encoding
            payload = str(part.get_payload()).encode("utf-8", "replace")
        text_ = decode_text(payload, part.get_content_charset())
        (plain if ctype == "text/plain" else markup).append(text_)
    body = "\n".join(plain) if any(p.strip() for p in plain) else "\n".join(html_to_text(m) for m in markup)
    body = body.replace("\r\n", "\n").replace("\r", "\n")[:MAX_TEXT_CHARS]
    if not body.strip():
        raise NoticeError("no readable text part", subject=subject)
    return MailText(
        subject=subject,
        body=body,
        date=date,
        message_id=_header(msg, "Message-ID"),
        sender=_header(msg, "From"),
    )


# --- notice text ----------------------------------------------------------------------------------------------
_SECTION = re.compile(r"^\s*(?:[■◆●□◇▼]\s*(?P<a>.+?)|【(?P<b>[^】]+)】\s*(?P<rest>.*))\s*$")
_LABELLED = re.compile(r"^\s*[・]?(?P<key>発生日時|日時|発生場所|場所|状況|内容|概要|(?:男|犯人|行為者|不審者)の特徴|特徴)\s*[:：]\s*(?P<value>.+)$")
_STATION = re.compile(r"^(?:発信[:：]?\s*)?(?P<st>[^\s※]{1,20}(?:警察署|警察本部|警察)(?:[^\s]{0,12}課)?)\s*$")
_DATE = re.compile(
    r"(?:(?:(?P<year>\d{4})年)?(?P<month>\d{1,2})月)?(?P<day>\d{1,2})日|(?P<rel>本日|今日|昨日|一昨日)"
)
_WEEKDAY = re.compile(r"\s*[(（][月火水木金土日](?:曜日?)?(?:・祝)?[)）]")
_TIME = re.compile(
    r"\s*(?:(?P<ampm>午前|午後)?\s*(?P<hour>\d{1,2})(?:時|:)(?:(?P<minute>\d{1,2})分?|(?P<half>半))?|(?P<noon>正午))"
)
_PLACE_AFTER = re.compile(r"^[\s、,]*(?:頃|ごろ|ころ)?[\s、,]*(?P<place>[^、,。「」]{2,80}?)(?:において|にて|で)[、,\s]")
_PLACE_ANY = re.compile(r"(?P<place>[^、,。「」\s]{2,40}?(?:付近|路上|地区|丁目?|番地?)[^、,。「」\s]{0,20}?)(?:において|にて|で)[、,\s]")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u3000", " ")


def detect_kind(*texts: str) -> str | None:
    """The canonical kind named first in the most specific text (heading, then subject, then body)."""
    for t in texts:
        if not t:
            continue
        best: tuple[int, str] | None = None
        for word in list(KINDS) + list(KIND_SYNONYMS):
            i = t.find(word)
            if i >= 0:
                canonical = KIND_SYNONYMS.get(word, word)
                # the generic 不審者 loses to any specific kind in the same text
                rank = (1 if canonical == "不審者" else 0, i)
                if best is None or rank < (1 if best[1] == "不審者" else 0, best[0]):
                    best = (i, canonical)
        if best:
            return best[1]
    return None


def parse_when(text: str, reference: dt.datetime) -> tuple[dt.datetime | None, bool, int]:
    """(occurred_at, time_known, end offset) of the first date in ``text``; never later than ``reference``."""
    for m in _DATE.finditer(text):
        ref = reference.astimezone(JST)
        if m.group("rel"):
            delta = {"本日": 0, "今日": 0, "昨日": 1, "一昨日": 2}[m.group("rel")]
            day = ref.date() - dt.timedelta(days=delta)
        else:
            try:
                year = int(m.group("year") or ref.year)
                month = int(m.group("month") or ref.month)
                day = dt.date(year, month, int(m.group("day")))
            except ValueError:
                continue
            if not m.group("year") and day > ref.date():
                # no year (or no month) given and the date is ahead: it was last year (or last month)
                try:
                    day = (
                        day.replace(year=day.year - 1) if m.group("month")
                        else (day.replace(day=1) - dt.timedelta(days=1)).replace(day=day.day)
                    )
                except ValueError:
                    continue
        end = m.end()
        wd = _WEEKDAY.match(text, end)
        if wd:
            end = wd.end()
        tm = _TIME.match(text, end)
        if tm:
            if tm.group("noon"):
                hour, minute = 12, 0
            else:
                hour = int(tm.group("hour"))
                minute = 30 if tm.group("half") else int(tm.group("minute") or 0)
                if tm.group("ampm") == "午後" and hour < 12:
                    hour += 12
            when = dt.datetime.combine(day, dt.time(hour, minute), JST) if hour <= 23 and minute <= 59 else None
            if when is not None and when <= reference:
                return when, True, tm.end()
            # an impossible or later-than-the-mail time (「本日午後11時」 in a 17:00 mail): keep only the date
            return dt.datetime.combine(day, dt.time(0, 0), JST), False, tm.end()
        return dt.datetime.combine(day, dt.time(0, 0), JST), False, end
    return None, False, 0


def _sections(body: str) -> tuple[list[tuple[str, list[str]]], str]:
    """(heading, lines) in order, plus the sending station. ※ footer lines are dropped."""
    sections: list[tuple[str, list[str]]] = []
    station = ""
    current: tuple[str, list[str]] | None = None
    for raw in body.split("\n"):
        line = raw.strip()
        if not line or line.startswith("※") or set(line) <= set("-=＝―─━*＊_~"):
            if current is not None and not line:
                current[1].append("")
            continue
        sm = _STATION.match(line)
        if sm and len(line) <= 30:
            station = station or sm.group("st")
            continue
        head = _SECTION.match(line)
        if head:
            title = (head.group("a") or head.group("b") or "").strip()
            current = (title, [])
            sections.append(current)
            rest = (head.group("rest") or "").strip()
            if rest:
                current[1].append(rest)
            continue
        if current is None:
            current = ("", [])
            sections.append(current)
        current[1].append(line)
    return sections, station


def _join(lines: list[str]) -> str:
    text = "\n".join(lines).strip()
    return re.sub(r"\n{2,}", "\n", text)


def parse_notice(subject: str, body: str, *, reference: dt.datetime, message_id: str = "") -> Notice:
    """Parse the notice text. ``reference`` (the mail's Date, or now) resolves dates given without a year."""
    subject_n = _norm(clean_header(subject))
    text = _norm(body)[:MAX_TEXT_CHARS]
    sections, station = _sections(text)
    heading, situation, suspect, advice = "", "", "", ""
    labelled: dict[str, str] = {}
    for title, lines in sections:
        for ln in lines:
            lm = _LABELLED.match(ln)
            if lm:
                labelled.setdefault(lm.group("key"), lm.group("value").strip())
        content = _join([ln for ln in lines if not _LABELLED.match(ln)])
        if "特徴" in title:
            suspect = suspect or content
        elif any(w in title for w in ("アドバイス", "お願い", "注意", "対策")):
            advice = advice or content
        elif any(w in title for w in ("安まちメール", "安全・安心", "配信")) and not content:
            continue
        elif not situation and (content or title):
            heading = title
            situation = content
    for key in ("状況", "内容", "概要"):
        if not situation and key in labelled:
            situation = labelled[key]
    for key in ("男の特徴", "犯人の特徴", "行為者の特徴", "不審者の特徴", "特徴"):
        if not suspect and key in labelled:
            suspect = labelled[key]
    # one-paragraph form: 男は…歳位、… and the advice after the last 。 of the incident sentence
    if not suspect:
        sm = re.search(r"(?:男|女|犯人|行為者)(?:は|の特徴は)[、,]?(?P<s>[^。]*(?:歳|代)[^。]*)。", situation)
        if sm:
            suspect = sm.group("s").strip()
    if not advice:
        sentences = [x + "。" for x in situation.split("。") if x.strip()]
        after = next((i for i, x in enumerate(sentences) if "発生" in x), None)
        if after is not None:
            tips = [
                x.strip() for x in sentences[after + 1:]
                if re.search(r"(ください|しましょう|ましょう)。$", x) and not x.strip().startswith(("男", "女", "犯人", "行為者"))
            ]
            advice = "".join(tips)

    kind = detect_kind(heading, subject_n, situation)
    if kind is None:
        raise NoticeError("no 不審者/声かけ-type incident found", subject=subject, text=body)

    when_text = labelled.get("発生日時") or labelled.get("日時") or situation
    occurred_at, time_known, end = parse_when(when_text, reference)
    place_text = labelled.get("発生場所") or labelled.get("場所") or ""
    if not place_text:
        rest = situation[end:] if when_text is situation else situation
        pm = _PLACE_AFTER.match(rest) or _PLACE_ANY.search(situation)
        place_text = pm.group("place").strip() if pm else ""
    if not place_text:
        raise NoticeError("no place found", subject=subject, text=body)
    if not situation:
        raise NoticeError("no description found", subject=subject, text=body)

    hint = ""
    hm = (
        re.search(r"[(（]([^()（）]{2,12}?[市区町村])[)）]\s*$", subject_n)
        or re.search(r"【([^】]{2,12}?[市区町村])で", subject_n)
        or re.match(r"([^\s]{2,12}?[市区町村])で", heading)
    )
    if hm:
        hint = hm.group(1)
    return Notice(
        kind=kind,
        heading=heading or kind,
        occurred_at=occurred_at,
        time_known=time_known,
        place_text=place_text[:80],
        description=situation[:1000],
        suspect=suspect[:400],
        advice=advice[:400],
        station=station,
        subject=clean_header(subject),
        municipality_hint=hint,
        message_id=message_id,
    )


def parse_mail(data: bytes, *, received_at: dt.datetime | None = None, max_bytes: int = MAX_MAIL_BYTES) -> Notice:
    """``read_mail`` then ``parse_notice``, dates resolved against the mail's Date (else ``received_at``/now)."""
    mail = read_mail(data, max_bytes=max_bytes)
    reference = mail.date or received_at or dt.datetime.now(JST)
    if received_at is not None and reference > received_at + dt.timedelta(days=1):
        reference = received_at  # a forged future Date must not push the incident into the future
    return parse_notice(mail.subject, mail.body, reference=reference, message_id=mail.message_id)
