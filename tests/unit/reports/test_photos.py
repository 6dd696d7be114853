"""Photo checks: what is refused and why; what is kept (pixels, upright) and what is not (EXIF)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from reports.photos import PhotoRefused, clean_photo
from reports.testing import exif_bomb, photo_with_exif


def _png(w: int, h: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (w, h), 0).save(out, "PNG")
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not_image"),
        (b"MZ\x90\x00 an exe", "not_image"),
        (_gif(), "unsupported"),
        (_png(9000, 9000), "too_many_pixels"),
        (exif_bomb(), "metadata_too_large"),
        (photo_with_exif()[:200], "broken"),
        (b"\x00" * (10 * 1024 * 1024 + 1), "too_large"),
    ],
    ids=["empty", "exe", "gif", "pixel-bomb", "exif-bomb", "truncated", "over-10MB"],
)
def test_refusals_name_their_reason(data, reason):
    with pytest.raises(PhotoRefused) as info:
        clean_photo(data)
    assert info.value.reason == reason


def test_exif_is_gone_and_pixels_stay():
    original = photo_with_exif(64, 48)
    assert b"SERIAL-123456789" in original and Image.open(io.BytesIO(original)).getexif().get(0x8825)
    clean = clean_photo(original)
    img = Image.open(io.BytesIO(clean.data))
    assert img.format == "JPEG" and (img.width, img.height) == (64, 48)
    assert not img.getexif() and b"SERIAL" not in clean.data and b"Phone" not in clean.data
    r, g, b = img.getpixel((10, 10))
    assert r > 150 and g < 80 and b < 80


def test_rotated_photo_is_stored_upright():
    img = Image.new("RGB", (60, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° CW to display
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    clean = clean_photo(out.getvalue())
    assert (clean.width, clean.height) == (20, 60)


def test_png_with_alpha_becomes_a_jpeg():
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (0, 255, 0, 128)).save(out, "PNG")
    assert Image.open(io.BytesIO(clean_photo(out.getvalue()).data)).format == "JPEG"
