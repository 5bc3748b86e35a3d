"""Hostile uploads against the two upload doors: the work-order attachment (staff, /api/v1/work-orders/
{id}/attachments) and the resident's report photos (/api/v1/residents/reports).

Each payload must be either refused with a 422 naming the field, or stored as a file that is safe to
serve: a random name inside MEDIA_ROOT, a real image re-encoded by our code (so nothing else rides in the
bytes). Cells marked ``KNOWN`` are defects of code this harness does not own, xfail(strict) so that the
fix shows up as an XPASS to remove the mark (docs/security.md lists them with the fix).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tongxin.workorders.models import Attachment
from tongxin.workorders.tests.test_api import (
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    client_for,
    order_in,
)


def _jpeg(size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "JPEG")
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_bomb(side: int = 60_000) -> bytes:
    """A PNG that claims 60000 × 60000 pixels (3.6 gigapixels) in a few hundred bytes: whoever decodes it
    without checking the size first allocates gigabytes."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * (side // 8)
    compressor = zlib.compressobj(9)
    idat = compressor.compress(row * 64) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


SCRIPT = b"<html><body><script>alert(document.cookie)</script></body></html>"
PAYLOADS = {
    "polyglot": ("photo.jpg", "image/jpeg", _jpeg() + SCRIPT),
    "svg_script": ("photo.svg", "image/svg+xml",
                   b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    "renamed_exe": ("photo.jpg", "image/jpeg", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200),
    "bomb": ("photo.png", "image/png", _png_bomb()),
    "traversal": ("../../../../etc/cron.d/photo.jpg", "image/jpeg", _jpeg()),
}
# (door, payload): the defect, and the fix in the file that owns it.
KNOWN: dict[tuple[str, str], str] = {}


def _assert_safe(stored: Path, data: bytes) -> None:
    media = Path(django_settings.MEDIA_ROOT).resolve()
    assert stored.resolve().is_relative_to(media), stored
    assert ".." not in stored.name and "cron" not in str(stored)
    content = stored.read_bytes()
    assert b"<script" not in content, "the script rode along in the stored bytes"
    with Image.open(stored) as image:
        assert image.width * image.height <= 40_000_000
        image.verify()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()


def _mark(door: str, name: str):
    reason = KNOWN.get((door, name))
    return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=reason)) if reason else name


@pytest.mark.django_db
@pytest.mark.parametrize("name", [_mark("work_order", name) for name in PAYLOADS])
def test_work_order_attachment(world, name):
    filename, content_type, data = PAYLOADS[name]
    order = order_in(world, "dispatched")
    response = client_for(world, "operator").post(
        f"/api/v1/work-orders/{order.pk}/attachments",
        {"file": SimpleUploadedFile(filename, data, content_type=content_type)})
    if response.status_code == 422:
        assert "file" in response.json()["fields"], response.json()
        assert not Attachment.objects.filter(order=order).exists()
        return
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get(order=order)
    _assert_safe(Path(attachment.file.path), data)


@pytest.mark.django_db
@pytest.mark.parametrize("name", [_mark("resident", name) for name in PAYLOADS])
def test_resident_report_photo(world, name):
    from tongxin.residents import services as residents
    from tongxin.residents.tests.conftest import make_place
    from tongxin.residents.tests.test_permission_matrix import CSRF, _client

    residents._owner_cache.clear()
    place = make_place(world)
    filename, content_type, data = PAYLOADS[name]
    before = Attachment.objects.count()
    response = _client(place, "res").post(
        "/api/v1/residents/reports",
        {"content": "井盖缺失", "photos": [SimpleUploadedFile(filename, data, content_type=content_type)]},
        HTTP_X_CSRFTOKEN=CSRF)
    residents._owner_cache.clear()
    if response.status_code == 422:
        fields = response.json()["fields"]
        assert any(key.startswith("photos") for key in fields), fields
        assert Attachment.objects.count() == before
        return
    assert response.status_code == 201, response.content
    for attachment in Attachment.objects.all()[before:]:
        _assert_safe(Path(attachment.file.path), data)
