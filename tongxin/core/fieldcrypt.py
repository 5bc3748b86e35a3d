"""Encryption of small personal values (ID numbers, phones) at rest, with keys that live outside the
database (PIPL; docs/security.md, "Personal data at rest").

A value is sealed with AES-256-GCM (the ``cryptography`` package) and stored as a self-describing text::

    v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>

- ``v1`` names the format: a later format gets a new prefix and both can be read during a migration.
- ``<key id>`` names the key that sealed it, so several keys can be in use at once (rotation): the first
  key of ``TONGXIN_DATA_KEYS`` seals, every listed key opens; ``tongxin pii rekey`` reseals old values.
- The associated data is ``v1|<key id>|<context>``, where the context names the table and column
  (``mediation_party.id_number``): a ciphertext copied into another column, or relabelled with another key
  id, fails authentication instead of decrypting.
- The nonce is 96 random bits per value. With at most a few million values per key, the chance of a nonce
  repeating stays far below NIST SP 800-38D's 2^-32 bound.

Keys come from the setting ``TONGXIN_DATA_KEYS``: comma-separated ``id:base64-of-32-bytes`` entries
(``tongxin pii newkey`` prints one). Without it, the demo and the tests use one key derived from SECRET_KEY
by HKDF, with the id ``dev``; ``check --deploy`` warns about that (tongxin.core.checks). Listing a bare
``dev`` after a real key keeps that fallback key for opening only, to move a demo-born database onto real
keys with ``tongxin pii rekey``.

Matching without decrypting: ``digest`` is HMAC-SHA256 of the normalised value under a key derived (HKDF,
its own ``info``) from the sealing key, so the digest key is never the encryption key and a leaked table
cannot be searched by enumerating the small space of ID numbers. ``digests`` gives the value's digest
under every configured key, so a search still finds rows written under an older key until the rekey has
run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VERSION = "v1"
FALLBACK_KEY_ID = "dev"
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class DecryptionError(Exception):
    """A stored value could not be opened: unknown format or key id, or authentication failed (a wrong
    key, a tampered ciphertext, a ciphertext of another column). Never shown to users as-is."""


@dataclass(frozen=True)
class Keyring:
    """The configured keys: ``primary`` seals, every key in ``keys`` opens. ``fallback``: derived from
    SECRET_KEY because TONGXIN_DATA_KEYS is unset (demo and tests only)."""

    primary: str
    keys: dict[str, bytes]
    fallback: bool

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise DecryptionError(f"unknown data key id {key_id!r}") from None


def _b64decode(text: str) -> bytes:
    padded = text.strip() + "=" * (-len(text.strip()) % 4)
    try:
        if "-" in padded or "_" in padded:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def parse_keys(raw: str, *, secret_key: str | None = None) -> list[tuple[str, bytes]]:
    """``"k2:BASE64,k1:BASE64"`` -> [("k2", key), ("k1", key)]; ImproperlyConfigured on any bad entry
    (the message names the entry by position and id, never the key material).

    A bare ``dev`` after a real key stands for the development fallback key (derived from
    ``secret_key``), so values sealed before TONGXIN_DATA_KEYS was set stay readable until rekeyed."""
    result: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for position, entry in enumerate((e.strip() for e in raw.split(",")), start=1):
        if not entry:
            continue
        if entry == FALLBACK_KEY_ID:
            if not result:
                raise ImproperlyConfigured("TONGXIN_DATA_KEYS: the development key 'dev' may only follow a real key")
            if FALLBACK_KEY_ID in seen:
                raise ImproperlyConfigured("TONGXIN_DATA_KEYS: key id 'dev' appears twice")
            seen.add(FALLBACK_KEY_ID)
            result.append((FALLBACK_KEY_ID, _fallback_key(secret_key or str(settings.SECRET_KEY))))
            continue
        key_id, sep, material = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not KEY_ID_RE.match(key_id):
            raise ImproperlyConfigured(
                f"TONGXIN_DATA_KEYS entry {position}: expected id:base64 with an id of 1-32 letters, digits, - or _")
        if key_id in seen:
            raise ImproperlyConfigured(f"TONGXIN_DATA_KEYS: key id {key_id!r} appears twice")
        try:
            key = _b64decode(material)
        except ValueError:
            raise ImproperlyConfigured(f"TONGXIN_DATA_KEYS key {key_id!r}: not base64") from None
        if len(key) != KEY_BYTES:
            raise ImproperlyConfigured(
                f"TONGXIN_DATA_KEYS key {key_id!r}: {len(key)} bytes, AES-256 needs {KEY_BYTES}")
        seen.add(key_id)
        result.append((key_id, key))
    return result


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=b"tongxin.fieldcrypt", info=info).derive(secret)


def _fallback_key(secret_key: str) -> bytes:
    return _hkdf(secret_key.encode(), b"tongxin data key v1 (development fallback)")


@lru_cache(maxsize=8)
def _keyring_for(raw: str, secret_key: str) -> Keyring:
    entries = parse_keys(raw, secret_key=secret_key)
    if entries:
        return Keyring(primary=entries[0][0], keys=dict(entries), fallback=False)
    return Keyring(primary=FALLBACK_KEY_ID, keys={FALLBACK_KEY_ID: _fallback_key(secret_key)}, fallback=True)


def keyring() -> Keyring:
    """The keys of the current settings (cached per setting value, so override_settings works)."""
    return _keyring_for(str(getattr(settings, "TONGXIN_DATA_KEYS", "") or ""), str(settings.SECRET_KEY))


def new_key() -> str:
    """32 random bytes in standard base64: one key for TONGXIN_DATA_KEYS."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def _aad(key_id: str, context: str) -> bytes:
    return f"{VERSION}|{key_id}|{context}".encode()


def encrypt(value: str, *, context: str) -> str:
    """Seal ``value`` for the column ``context`` (``table.column``) under the first key. An empty value
    stays empty (a blank field carries no personal data; its emptiness shows in the masked column anyway)."""
    if not value:
        return ""
    if not context:
        raise ValueError("a context (table.column) is required")
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.key(ring.primary)).encrypt(nonce, value.encode(), _aad(ring.primary, context))
    body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"{VERSION}:{ring.primary}:{body}"


def _split(token: str) -> tuple[str, str, bytes]:
    version, _sep, rest = token.partition(":")
    key_id, sep, body = rest.partition(":")
    if version != VERSION or not sep or not KEY_ID_RE.match(key_id):
        raise DecryptionError("not a v1 ciphertext")
    try:
        raw = _b64decode(body)
    except ValueError:
        raise DecryptionError("ciphertext is not base64") from None
    if len(raw) < NONCE_BYTES + 16:
        raise DecryptionError("ciphertext too short")
    return version, key_id, raw


def decrypt(token: str, *, context: str) -> str:
    """Open a value sealed by ``encrypt`` for the same ``context``; DecryptionError otherwise."""
    if not token:
        return ""
    _version, key_id, raw = _split(token)
    key = keyring().key(key_id)
    try:
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(key_id, context))
    except InvalidTag:
        raise DecryptionError("authentication failed (wrong key, tampered value or another column's value)") from None
    return plain.decode()


def key_id_of(token: str) -> str | None:
    """The key id a stored value names, or None for an empty or unrecognised value."""
    try:
        return _split(token)[1] if token else None
    except DecryptionError:
        return None


def needs_rekey(token: str) -> bool:
    """True when a non-empty value is sealed under a key other than the first."""
    return bool(token) and key_id_of(token) != keyring().primary


def normalise(value: str) -> str:
    """What matching compares: no whitespace at all, upper case (the X of an ID number)."""
    return "".join((value or "").split()).upper()


@lru_cache(maxsize=32)
def _digest_key(key: bytes, purpose: str) -> bytes:
    return _hkdf(key, f"tongxin digest v1|{purpose}".encode())


def digest(value: str, *, purpose: str, key_id: str | None = None) -> str:
    """HMAC-SHA256 (hex) of the normalised value under the digest key of ``key_id`` (default: the first
    key) for ``purpose`` (``mediation_party.id_number``); "" for an empty value."""
    value = normalise(value)
    if not value:
        return ""
    ring = keyring()
    key = _digest_key(ring.key(key_id or ring.primary), purpose)
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def digests(value: str, *, purpose: str) -> list[str]:
    """The value's digest under every configured key (the first key's first): what a search matches, so
    rows written under an older key are found until ``tongxin pii rekey`` has rewritten them."""
    if not normalise(value):
        return []
    return [digest(value, purpose=purpose, key_id=key_id) for key_id in keyring().keys]
