"""Photos of reports: checked (type, size, pixels, metadata), re-encoded without EXIF, stored through a port.

A resident's photo may carry the GPS position of their home and the phone's serial number in EXIF; nothing of the
original file is kept: the pixels are decoded and written again as a fresh JPEG (rotated by the EXIF orientation first,
so the picture still stands upright). Anything Pillow cannot decode within the limits is refused with a reason.
"""

from __future__ import annotations

import io
import re
import struct
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from PIL import Image, ImageOps

Refusal = Literal["too_large", "not_image", "unsupported", "too_many_pixels", "metadata_too_large", "broken"]
ALLOWED = {"JPEG": "image/jpeg", "PNG": "image/png"}
MAX_METADATA_BYTES = 128 * 1024  # an "EXIF bomb" hides megabytes (or endless IFD loops) in APPn segments
MAX_SIDE = 2048  # stored photos are scaled down to this longest side
_KEY = re.compile(r"^[0-9a-f]{32}$")


class PhotoRefused(Exception):
    def __init__(self, reason: Refusal, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes  # JPEG without any metadata
    width: int
    height: int
    content_type: str = "image/jpeg"


def clean_photo(data: bytes, *, max_bytes: int = 10 * 1024 * 1024, max_pixels: int = 40_000_000) -> CleanPhoto:
    """Check and re-encode one uploaded photo; raise ``PhotoRefused`` with the reason when it is not acceptable."""
    if len(data) > max_bytes:
        raise PhotoRefused("too_large", f"{len(data)} bytes")
    if not data:
        raise PhotoRefused("not_image", "empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=None)
            if img.format not in ALLOWED:
                raise PhotoRefused("unsupported", str(img.format))
            if img.width * img.height > max_pixels:
                raise PhotoRefused("too_many_pixels", f"{img.width}x{img.height}")
            metadata = sum(len(v) for v in img.info.values() if isinstance(v, (bytes, str)))
            metadata += sum(len(body) for _, body in getattr(img, "applist", []))
            if metadata > MAX_METADATA_BYTES:
                raise PhotoRefused("metadata_too_large", f"{metadata} bytes of metadata")
            img.load()
    except PhotoRefused:
        raise
    except Image.UnidentifiedImageError as exc:
        raise PhotoRefused("not_image", str(exc)[:100]) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRefused("too_many_pixels", str(exc)[:100]) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as exc:
        raise PhotoRefused("broken", type(exc).__name__) from None
    pixels = _upright(img).convert("RGB")
    pixels.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    pixels.save(out, "JPEG", quality=85, optimize=True)  # no exif=, no icc_profile=: nothing of the original travels
    return CleanPhoto(out.getvalue(), pixels.width, pixels.height)


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (metadata is already bounded); a malformed EXIF block leaves the pixels as they are."""
    try:
        return ImageOps.exif_transpose(img) or img
    except Exception:  # noqa: BLE001 - bad EXIF must not stop a photo whose pixels are good
        return img


class PhotoStore(Protocol):
    """Where cleaned photos live: the filesystem under the data dir by default; the seam for object storage."""

    async def put(self, tenant: str, data: bytes) -> str: ...
    async def get(self, tenant: str, key: str) -> bytes | None: ...
    async def delete(self, tenant: str, key: str) -> None: ...
    async def older_than(self, tenant: str, before: float) -> list[str]: ...


def new_key() -> str:
    return uuid.uuid4().hex


class MemoryPhotoStore:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], tuple[bytes, float]] = {}

    async def put(self, tenant: str, data: bytes) -> str:
        key = new_key()
        self.items[(tenant, key)] = (data, time.time())
        return key

    async def get(self, tenant: str, key: str) -> bytes | None:
        item = self.items.get((tenant, key))
        return item[0] if item else None

    async def delete(self, tenant: str, key: str) -> None:
        self.items.pop((tenant, key), None)

    async def older_than(self, tenant: str, before: float) -> list[str]:
        return [k for (t, k), (_, at) in self.items.items() if t == tenant and at < before]


class FilePhotoStore:
    """``<root>/<tenant>/<key>.jpg``; keys are random hex, checked before they touch a path."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, tenant: str, key: str) -> Path:
        if not _KEY.match(key) or not re.match(r"^[a-z0-9][a-z0-9_-]{0,39}$", tenant):
            raise ValueError("bad photo key")
        return self.root / tenant / f"{key}.jpg"

    async def put(self, tenant: str, data: bytes) -> str:
        key = new_key()
        path = self._path(tenant, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return key

    async def get(self, tenant: str, key: str) -> bytes | None:
        try:
            return self._path(tenant, key).read_bytes()
        except (ValueError, OSError):
            return None

    async def delete(self, tenant: str, key: str) -> None:
        try:
            self._path(tenant, key).unlink(missing_ok=True)
        except ValueError:
            return

    async def older_than(self, tenant: str, before: float) -> list[str]:
        folder = self.root / tenant
        if not folder.is_dir():
            return []
        return [p.stem for p in folder.glob("*.jpg") if p.stat().st_mtime < before and _KEY.match(p.stem)]
