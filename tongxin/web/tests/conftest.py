"""Local fixtures for the page tests.

- A fast password hasher: the test world signs in a dozen users per test and PBKDF2 is slow on
  purpose. (Worth moving to tongxin/conftest.py for the whole suite.)
- STATIC_ROOT exists, so WhiteNoise does not warn on every request (``tongxin serve`` creates it too).
- The browser harness: ``browser_page`` (Debian's Chromium driven by Playwright against pytest-django's
  ``live_server``), ``login_as`` and ``screenshot``. Browser tests carry the ``browser`` marker and skip,
  saying why, when Chromium or Playwright cannot be had (``./dev test`` installs Chromium when root).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from tongxin.testing import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


def pytest_configure(config):
    # The live server (session-wide) builds WhiteNoise before any function fixture runs.
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _fast_passwords_and_static_root(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def login(client, username: str) -> None:
    assert client.login(username=username, password=PASSWORD)


# --- the browser -------------------------------------------------------------------------------------
# The fixtures (_chromium, browser_page, login_as) live in tongxin/conftest.py: one session-wide browser for
# every app's tests (two session fixtures would start two Playwright loops in one process, which fails).
# ``screenshot`` below is a plain function that the apps' browser tests import.


def _png_colours(data: bytes, limit: int = 64) -> int:
    """Distinct colours in a PNG (8-bit RGB/RGBA, as Chromium writes them), up to ``limit``."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, width, height, colour_type, idat = 8, 0, 0, 0, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, _depth, colour_type = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = {2: 3, 6: 4}[colour_type]
    raw = zlib.decompress(idat)
    stride = width * channels
    seen: set[bytes] = set()
    previous = bytearray(stride)
    offset = 0
    for _row in range(height):
        filter_type, line = raw[offset], bytearray(raw[offset + 1:offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if filter_type == 1:
                line[i] = (line[i] + left) & 0xFF
            elif filter_type == 2:
                line[i] = (line[i] + up) & 0xFF
            elif filter_type == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif filter_type == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[i] = (line[i] + predictor) & 0xFF
        previous = line
        for x in range(0, stride, channels * 7):  # a sample of pixels is enough to tell "blank"
            seen.add(bytes(line[x:x + 3]))
            if len(seen) >= limit:
                return len(seen)
    return len(seen)


def screenshot(page: Any, name: str) -> Path:
    """Save ``var/screenshots/<name>.png`` (full page) and assert it is not blank."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    data = page.screenshot(path=str(path), full_page=True)
    colours = _png_colours(data)
    assert colours > 8, f"screenshot {name} looks blank ({colours} colours)"
    return path
