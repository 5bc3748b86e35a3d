"""The resident's session: a signed cookie, separate from the staff's Django session.

``tx_resident`` holds ``kind:place_id:resident_id:code_version`` signed with a key derived from
SECRET_KEY for this purpose (``signing``, timestamped, 30 days by default). Nothing is stored on the
server, so a scan-and-report visit costs no session row. The session is bound to the place whose
code was scanned: re-issuing or revoking that code (a new version) ends every session opened with
the old one, as does a resident being removed from the household.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse

from . import conf
from .choices import CodeKind
from .models import Household, Merchant, Resident
from .receipts import Claims
from .selectors import place_get
from .services import LoginResult, Reporter

COOKIE = "tx_resident"
SALT = "tongxin.residents.session.v1"


@dataclass
class ResidentSession:
    kind: str
    place: Household | Merchant
    resident: Resident | None

    def reporter(self) -> Reporter:
        if isinstance(self.place, Household):
            assert self.resident is not None
            return Reporter(household=self.place, merchant=None, resident=self.resident, name=self.resident.name,
                            phone=self.resident.phone)
        return Reporter(household=None, merchant=self.place, resident=None, name=self.place.contact_name,
                        phone=self.place.contact_phone)

    @property
    def display_name(self) -> str:
        if self.resident is not None:
            return self.resident.name[:1] + "*" * (len(self.resident.name) - 1)
        return str(self.place)


def session_start(response: HttpResponse, login: LoginResult) -> None:
    value = f"{login.kind}:{login.target_id}:{login.resident_id or 0}:{login.code_version}"
    response.set_signed_cookie(
        COOKIE, value, salt=SALT, max_age=conf.session_days() * 86400, httponly=True, samesite="Lax",
        secure=_secure(),
    )


def session_end(response: HttpResponse) -> None:
    response.delete_cookie(COOKIE, samesite="Lax")


def _secure() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "SESSION_COOKIE_SECURE", False))


def session_claims(request: HttpRequest) -> Claims | None:
    """What the signed cookie claims (kind, place, resident, code version), checked by signature and
    age only — no query. ``session_read`` confirms it against the database; the report endpoint lets
    its one statement confirm it (ADR 0011)."""
    cached: Any = getattr(request, "_resident_claims", False)
    if cached is not False:
        return cached
    claims = None
    try:
        value = request.get_signed_cookie(COOKIE, salt=SALT, max_age=conf.session_days() * 86400)
    except (KeyError, signing.BadSignature):
        value = None
    if value:
        try:
            kind, place_id, resident_id, version = value.split(":")
            claims = Claims(kind=kind, place_id=int(place_id), resident_id=int(resident_id), version=int(version))
        except ValueError:
            claims = None
    request._resident_claims = claims  # type: ignore[attr-defined]
    return claims


def session_read(request: HttpRequest) -> ResidentSession | None:
    """The signed-in resident, or None (no cookie, bad signature, expired, or the binding is gone)."""
    cached: Any = getattr(request, "_resident_session", False)
    if cached is not False:
        return cached
    claims = session_claims(request)
    session = session_load(claims) if claims is not None else None
    request._resident_session = session  # type: ignore[attr-defined]
    return session


def session_load(claims: Claims) -> ResidentSession | None:
    """One query: the resident with their household (a merchant's contact: the merchant), if the
    cookie's binding still holds (the same conditions as ``receipts.receipt_insert``'s ``who``)."""
    if claims.kind == CodeKind.HOUSEHOLD:
        resident = (
            Resident.objects.select_related("household")
            .filter(pk=claims.resident_id, household_id=claims.place_id, active=True).first()
        )
        if resident is None or not _current(resident.household, claims.version):
            return None
        return ResidentSession(kind=claims.kind, place=resident.household, resident=resident)
    if claims.kind == CodeKind.MERCHANT:
        merchant = place_get(claims.kind, claims.place_id)
        if merchant is None or not _current(merchant, claims.version):
            return None
        return ResidentSession(kind=claims.kind, place=merchant, resident=None)
    return None


def _current(place: Household | Merchant, version: int) -> bool:
    return place.code_revoked_at is None and place.code_version == version
