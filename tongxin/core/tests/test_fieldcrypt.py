"""Field encryption (tongxin.core.fieldcrypt): the round trip, what must be refused (a wrong key, a
tampered or relabelled ciphertext, another column's ciphertext), rotation, the keyed digest, the key
setting's parsing, the system checks and ``tongxin pii newkey``."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from tongxin.core import fieldcrypt
from tongxin.core.fieldcrypt import DecryptionError

K1 = base64.b64encode(bytes(range(32))).decode()
K2 = base64.b64encode(bytes(range(100, 132))).decode()
K1_OTHER = base64.b64encode(bytes(range(1, 33))).decode()
CTX = "mediation_party.id_number"
ID = "150602199001011234"


@pytest.fixture
def keys(settings):
    def use(value: str) -> None:
        settings.TONGXIN_DATA_KEYS = value
    use(f"k1:{K1}")
    return use


def test_round_trip_and_format(keys):
    token = fieldcrypt.encrypt(ID, context=CTX)
    version, key_id, _body = token.split(":")
    assert (version, key_id) == ("v1", "k1") and ID not in token and "19900101" not in token
    assert fieldcrypt.decrypt(token, context=CTX) == ID
    assert fieldcrypt.encrypt(ID, context=CTX) != token  # a fresh nonce every time
    assert fieldcrypt.encrypt("", context=CTX) == "" and fieldcrypt.decrypt("", context=CTX) == ""
    assert fieldcrypt.decrypt(fieldcrypt.encrypt("张三 ☎ 0477-8123456", context="t.c"), context="t.c") == "张三 ☎ 0477-8123456"


def test_another_columns_ciphertext_is_refused(keys):
    token = fieldcrypt.encrypt(ID, context=CTX)
    with pytest.raises(DecryptionError):
        fieldcrypt.decrypt(token, context="mediation_party.phone")


def test_wrong_key_is_refused(keys):
    token = fieldcrypt.encrypt(ID, context=CTX)
    keys(f"k1:{K1_OTHER}")  # same id, other material: authentication fails
    with pytest.raises(DecryptionError, match="authentication"):
        fieldcrypt.decrypt(token, context=CTX)
    keys(f"k2:{K2}")  # the key is gone altogether
    with pytest.raises(DecryptionError, match="unknown data key"):
        fieldcrypt.decrypt(token, context=CTX)


def test_tampered_or_relabelled_ciphertext_is_refused(keys):
    token = fieldcrypt.encrypt(ID, context=CTX)
    version, key_id, body = token.split(":")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for position in (0, 12, len(raw) - 1):  # the nonce, the ciphertext, the tag
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        forged = f"{version}:{key_id}:{base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip('=')}"
        with pytest.raises(DecryptionError):
            fieldcrypt.decrypt(forged, context=CTX)
    keys(f"k1:{K1},k2:{K1}")  # the same key material under another id: the id is authenticated too
    with pytest.raises(DecryptionError):
        fieldcrypt.decrypt(f"v1:k2:{body}", context=CTX)
    for junk in ("plain text", "v2:k1:" + body, "v1:k1:", "v1:k1:!!!", "v1:k1:AAAA"):
        with pytest.raises(DecryptionError):
            fieldcrypt.decrypt(junk, context=CTX)


def test_rotation_old_key_still_opens_new_key_seals(keys):
    old = fieldcrypt.encrypt(ID, context=CTX)
    keys(f"k2:{K2},k1:{K1}")
    assert fieldcrypt.decrypt(old, context=CTX) == ID
    assert fieldcrypt.needs_rekey(old) and fieldcrypt.key_id_of(old) == "k1"
    new = fieldcrypt.encrypt(ID, context=CTX)
    assert fieldcrypt.key_id_of(new) == "k2" and not fieldcrypt.needs_rekey(new)
    assert not fieldcrypt.needs_rekey("")


def test_digest_is_keyed_normalised_and_rotation_aware(keys):
    d1 = fieldcrypt.digest(ID, purpose=CTX)
    assert len(d1) == 64 and ID not in d1
    assert fieldcrypt.digest(" 150602 199001011234\n", purpose=CTX) == d1
    assert fieldcrypt.digest("15060219900101123x", purpose=CTX) == fieldcrypt.digest("15060219900101123X", purpose=CTX)
    assert fieldcrypt.digest(ID, purpose="other.column") != d1  # one digest key per purpose
    assert fieldcrypt.digest("", purpose=CTX) == "" and fieldcrypt.digests("", purpose=CTX) == []
    assert d1 != hashlib.sha256(ID.encode()).hexdigest()  # not a plain hash anyone can recompute
    keys(f"k2:{K2},k1:{K1}")
    d2 = fieldcrypt.digest(ID, purpose=CTX)
    assert d2 != d1 and fieldcrypt.digests(ID, purpose=CTX) == [d2, d1]


def test_development_fallback_is_derived_from_secret_key(settings):
    settings.TONGXIN_DATA_KEYS = ""
    ring = fieldcrypt.keyring()
    assert ring.fallback and ring.primary == "dev" and len(ring.keys["dev"]) == 32
    token = fieldcrypt.encrypt(ID, context=CTX)
    assert token.startswith("v1:dev:") and fieldcrypt.decrypt(token, context=CTX) == ID
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    with pytest.raises(DecryptionError):
        fieldcrypt.decrypt(token, context=CTX)


@pytest.mark.parametrize("raw", [
    "k1", "k1:", f":{K1}", f"bad id:{K1}", f"k1:{K1},k1:{K2}", "k1:not*base64",
    f"k1:{base64.b64encode(bytes(16)).decode()}",  # AES-128: too short
])
def test_bad_key_settings_are_refused(raw):
    with pytest.raises(ImproperlyConfigured) as info:
        fieldcrypt.parse_keys(raw)
    assert K1 not in str(info.value) and K2 not in str(info.value)  # never echo key material


def test_key_setting_accepts_urlsafe_and_unpadded_base64():
    urlsafe = base64.urlsafe_b64encode(bytes(range(200, 232))).decode().rstrip("=")
    assert fieldcrypt.parse_keys(f" a:{K1} , b-2:{urlsafe} ,") == [("a", bytes(range(32))), ("b-2", bytes(range(200, 232)))]


def _ids(messages) -> set[str]:
    return {m.id for m in messages}


def test_deploy_check_warns_on_the_fallback_and_errors_on_bad_keys(settings):
    settings.TONGXIN_DATA_KEYS = ""
    assert "tongxin.W001" in _ids(run_checks(include_deployment_checks=True))
    assert "tongxin.W001" not in _ids(run_checks())  # the demo is not nagged
    settings.TONGXIN_DATA_KEYS = f"k1:{K1}"
    assert not {"tongxin.W001", "tongxin.E001"} & _ids(run_checks(include_deployment_checks=True))
    settings.TONGXIN_DATA_KEYS = "k1:short"
    assert "tongxin.E001" in _ids(run_checks())


def test_pii_newkey_prints_a_usable_key(settings):
    out = io.StringIO()
    call_command("pii", "newkey", "--id", "k2027", stdout=out)
    line = out.getvalue().strip()
    [(key_id, key)] = fieldcrypt.parse_keys(line)
    assert key_id == "k2027" and len(key) == 32
    settings.TONGXIN_DATA_KEYS = line
    assert fieldcrypt.decrypt(fieldcrypt.encrypt(ID, context=CTX), context=CTX) == ID
    other = io.StringIO()
    call_command("pii", "newkey", stdout=other)
    [(other_id, other_key)] = fieldcrypt.parse_keys(other.getvalue().strip())
    assert other_id.startswith("k20") and other_key != key  # fresh random bytes each time


def test_a_bare_dev_entry_keeps_the_fallback_key_for_opening_only(settings):
    settings.TONGXIN_DATA_KEYS = ""
    demo = fieldcrypt.encrypt(ID, context=CTX)  # sealed while nothing was configured
    settings.TONGXIN_DATA_KEYS = f"k1:{K1}"
    with pytest.raises(DecryptionError):
        fieldcrypt.decrypt(demo, context=CTX)
    settings.TONGXIN_DATA_KEYS = f"k1:{K1},dev"
    assert fieldcrypt.decrypt(demo, context=CTX) == ID and fieldcrypt.needs_rekey(demo)
    assert fieldcrypt.key_id_of(fieldcrypt.encrypt(ID, context=CTX)) == "k1"
    for bad in ("dev", f"dev,k1:{K1}", f"k1:{K1},dev,dev"):
        with pytest.raises(ImproperlyConfigured):
            fieldcrypt.parse_keys(bad, secret_key="s")
