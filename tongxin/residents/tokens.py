"""Signed, versioned codes (一户一码): ``<kind><id>.<version>.<mac>``.

The MAC is HMAC-SHA256 over ``kind:id:version`` with a key derived from SECRET_KEY for this purpose
only (``salted_hmac``), cut to 128 bits and base64url-encoded; id and version are base 36. Without the
key nobody can make a token for another id (enumeration gets nowhere), and bumping the version in the
database (re-issue, revoke) makes every earlier token fail. Rotating SECRET_KEY invalidates all codes.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "tongxin.residents.code.v1"
TOKEN_RE = re.compile(r"^([hm])([0-9a-z]{1,13})\.([0-9a-z]{1,7})\.([A-Za-z0-9_-]{22})$")


@dataclass(frozen=True)
class CodeToken:
    kind: str
    id: int
    version: int


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _mac(kind: str, pk: int, version: int) -> str:
    digest = salted_hmac(SALT, f"{kind}:{pk}:{version}", algorithm="sha256").digest()[:16]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def token_make(kind: str, pk: int, version: int) -> str:
    return f"{kind}{_b36(pk)}.{_b36(version)}.{_mac(kind, pk, version)}"


def token_parse(token: str) -> CodeToken | None:
    """The (kind, id, version) a token was signed for, or None when it is malformed or its MAC is
    wrong. Says nothing about whether the version is still the current one."""
    match = TOKEN_RE.match(token or "")
    if match is None:
        return None
    kind, pk36, version36, mac = match.groups()
    pk, version = int(pk36, 36), int(version36, 36)
    if not constant_time_compare(mac, _mac(kind, pk, version)):
        return None
    return CodeToken(kind=kind, id=pk, version=version)
