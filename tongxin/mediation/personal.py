"""The parties' personal values at rest (PIPL; docs/mediation.md, "Personal data at rest").

A party's ID number and phone are stored sealed (tongxin.core.fieldcrypt, AES-256-GCM, keys outside the
database), next to a masked form for lists and pages, and — for the ID number — a keyed digest that lets a
mediator find earlier cases of the same person without anything readable in the table. The clear value
exists only in memory: when a service writes it, when the audited reveal shows it, when a work order is
raised for the first party.

Every read and write of these columns goes through the functions below, so the contexts (which bind a
ciphertext to its column) are named in one place.
"""

from __future__ import annotations

import re
from typing import Any

from tongxin.core import fieldcrypt
from tongxin.core.masking import mask_id_number, mask_phone

# Associated data of the ciphertexts and the digest's purpose: table.column. Changing one makes every
# stored value unreadable; migrations 0003 copies them on purpose rather than importing them.
ID_CONTEXT = "mediation_party.id_number"
PHONE_CONTEXT = "mediation_party.phone"
ID_DIGEST_PURPOSE = "mediation_party.id_number"

# A resident identity card number (GB 11643): 17 digits and a check character.
RESIDENT_ID_RE = re.compile(r"^\d{17}[\dX]$")

SEALED_COLUMNS = ("id_number_enc", "id_digest", "id_masked", "phone_enc", "phone_masked")


def party_set_id_number(party: Any, value: str) -> None:
    """Seal ``value`` (already validated and normalised by the service) into the party's columns."""
    value = value or ""
    party.id_number_enc = fieldcrypt.encrypt(value, context=ID_CONTEXT)
    party.id_digest = fieldcrypt.digest(value, purpose=ID_DIGEST_PURPOSE)
    party.id_masked = mask_id_number(value)


def party_set_phone(party: Any, value: str) -> None:
    value = value or ""
    party.phone_enc = fieldcrypt.encrypt(value, context=PHONE_CONTEXT)
    party.phone_masked = mask_phone(value)


def party_clear(party: Any) -> None:
    """Retention: nothing of the ID number or the phone is left, not even the digest or the mask."""
    party_set_id_number(party, "")
    party_set_phone(party, "")


def party_id_number(party: Any) -> str:
    """The clear ID number: only for the audited reveal and the agreement (fieldcrypt.DecryptionError if
    the key is missing)."""
    return fieldcrypt.decrypt(party.id_number_enc, context=ID_CONTEXT)


def party_phone(party: Any) -> str:
    return fieldcrypt.decrypt(party.phone_enc, context=PHONE_CONTEXT)


def looks_like_resident_id(text: str) -> bool:
    return bool(RESIDENT_ID_RE.match(fieldcrypt.normalise(text)))


def id_number_digests(text: str) -> list[str]:
    """The digests a search compares with ``Party.id_digest`` (one per configured key: rotation-safe)."""
    return fieldcrypt.digests(text, purpose=ID_DIGEST_PURPOSE)


def party_rekey(party: Any) -> bool:
    """Reseal the party's values under the first key (and recompute the digest with it); True when
    something changed. Values already under the first key are left as they are (idempotent)."""
    changed = False
    if fieldcrypt.needs_rekey(party.id_number_enc) or (
            party.id_number_enc and party.id_digest != fieldcrypt.digest(party_id_number(party),
                                                                         purpose=ID_DIGEST_PURPOSE)):
        party_set_id_number(party, party_id_number(party))
        changed = True
    if fieldcrypt.needs_rekey(party.phone_enc):
        party_set_phone(party, party_phone(party))
        changed = True
    return changed
