"""Local fixtures for the page tests.

- A fast password hasher: the test world signs in a dozen users per test and PBKDF2 is slow on
  purpose. (Worth moving to tongxin/conftest.py for the whole suite.)
- STATIC_ROOT exists, so WhiteNoise does not warn on every request (``tongxin serve`` creates it too).
- The browser harness: ``browser_page`` (Debian's Chromium driven by Playwright against pytest-django's
  ``live_server``), ``login_as`` and ``screenshot``. Browser tests carry the ``browser`` marker and skip,
  saying why, when Chromium or Playwright cannot be had (``./dev test`` installs Chromium when root).
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tongxin.testing import PASSWORD

CHROMIUM = os.environ.get("TONGXIN_CHROMIUM", "/usr/bin/chromium")
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

@pytest.fixture(scope="session")
def _chromium() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM}: install it (apt-get install chromium fonts-noto-cjk; ./dev test does when root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install -e '.[dev]'")
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
    # with a running loop unless told that this is deliberate (the tests' own ORM calls stay synchronous).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"], headless=True,
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(_chromium, live_server) -> Iterator[Any]:
    """A fresh browser context (own cookies) on a 1280×900 page; ``page.base_url`` is the live server."""
    context = _chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base_url = live_server.url
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def login_as() -> Callable[[Any, str], None]:
    """``login_as(page, "handler")``: sign in through the real login form."""

    def _login(page: Any, username: str) -> None:
        page.context.clear_cookies()
        page.goto(f"{page.base_url}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{page.base_url}/")

    return _login


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
