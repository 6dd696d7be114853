"""Fakes and builders for tests of this room and of the composition root (memory ports, photos with EXIF)."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable

from PIL import Image

from bot.config import Tenant
from bot.line import LineGateway, RecordingLineGateway
from bot.users import MemoryUserStore
from reports.area import StaticArea
from reports.config import ReportsConfig
from reports.photos import MemoryPhotoStore
from reports.service import ContentTooLarge, ContentUnavailable, ReportsDeps, StatusNotice, notice_audience
from reports.store import MemoryDraftStore, MemoryReportStore

# a box around 大阪市役所 (34.6937, 135.5023)
OSAKA_BOX = (34.60, 135.40, 34.78, 135.60)


class FakeContent:
    """The LINE content API as a dict: message id → bytes."""

    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}

    async def fetch(self, tenant: str, message_id: str, max_bytes: int) -> bytes:
        if message_id not in self.items:
            raise ContentUnavailable("no such content")
        data = self.items[message_id]
        if len(data) > max_bytes:
            raise ContentTooLarge(str(len(data)))
        return data


def photo_with_exif(width: int = 64, height: int = 48, fmt: str = "JPEG") -> bytes:
    """A photo whose EXIF carries a GPS position, a camera model and a serial number (what must be stripped)."""
    img = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15 Secret Edition"  # Model
    exif[0xA431] = "SERIAL-123456789"  # BodySerialNumber
    gps = {1: "N", 2: (34.0, 41.0, 37.0), 3: "E", 4: (135.0, 30.0, 8.0)}
    exif[0x8825] = gps  # GPSInfo
    out = io.BytesIO()
    img.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def exif_bomb() -> bytes:
    """A valid small JPEG carrying megabytes of APPn metadata (many maximal segments)."""
    base = photo_with_exif()
    segment = b"\xff\xe1" + (65535).to_bytes(2, "big") + b"Exif\x00\x00" + b"\x00" * (65535 - 8)
    return base[:2] + segment * 40 + base[2:]


class InlineNotices:
    """The delivery engine in-line, for tests on fakes: a notice's audience is resolved at once and each resident is
    pushed their language's messages ("ja" when missing) through the LINE gateway, one retry key per resident. The
    real engine (retries, backoff, exactly once) is exercised in tests/integration/reports/test_status_delivery.py."""

    def __init__(self, line: LineGateway) -> None:
        self.line = line
        self.deps: ReportsDeps | None = None  # set by make_deps (the audience reads the deps' current stores)
        self.submitted: dict[str, StatusNotice] = {}

    async def submit(self, notice: StatusNotice) -> str:
        if notice.key in self.submitted:
            return notice.key
        self.submitted[notice.key] = notice
        assert self.deps is not None
        for uid, lang in await notice_audience(self.deps.reports, self.deps.users, notice.tenant, notice.report_id):
            key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{notice.tenant}:{notice.key}:{uid}"))
            await self.line.push(notice.tenant, uid, notice.messages.get(lang) or notice.messages["ja"], key)
        return notice.key


def make_deps(
    clock: Callable[[], float] = time.time, config: ReportsConfig | None = None
) -> tuple[ReportsDeps, RecordingLineGateway, FakeContent]:
    line = RecordingLineGateway()
    content = FakeContent()
    notices = InlineNotices(line)
    deps = ReportsDeps(
        reports=MemoryReportStore(),
        drafts=MemoryDraftStore(clock),
        photos=MemoryPhotoStore(),
        notices=notices,
        users=MemoryUserStore(),
        area=StaticArea({"demo": OSAKA_BOX}),
        configs={"demo": config or ReportsConfig()},
        content=content,
        clock=clock,
        display_names={"demo": "デモ市"},
    )
    notices.deps = deps
    return deps, line, content


def demo_tenant() -> Tenant:
    return Tenant(id="demo", display_name="デモ市", lg_code="271004", languages=["ja", "ja-easy", "en", "zh-Hans", "ko", "vi"])
