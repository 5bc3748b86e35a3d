"""Local fixtures for the page tests.

- A fast password hasher: the test world signs in a dozen users per test and PBKDF2 is slow on
  purpose. (Worth moving to tongxin/conftest.py for the whole suite.)
- STATIC_ROOT exists, so WhiteNoise does not warn on every request (``tongxin serve`` creates it too).
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _fast_passwords_and_static_root(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
