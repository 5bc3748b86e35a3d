"""The staff case search (the page's search box and ``POST /mediation/cases/search``): the term travels
in a request body, never in a URL (docs/mediation.md, "Finding a case")."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from tongxin.core import fieldcrypt
from tongxin.core.errors import ValidationFailed

from . import personal, selectors
from .models import DisputeCase, Party

SEARCH_MAX_CHARS = 50
# A phone as parties give it (services._parties keeps digits, hyphens and a leading +).
PHONE_LIKE_RE = re.compile(r"^\+?[\d\- ]{7,30}$")


def search_term_clean(raw: str | None) -> str:
    """The term a search uses (stripped), or ValidationFailed naming the field ``q``: empty or longer than
    SEARCH_MAX_CHARS. (A NUL never gets here: core.middleware refuses it at the door.)"""
    term = (raw or "").strip()
    if not term:
        raise ValidationFailed(fields={"q": _("请填写搜索内容（当事人姓名、电话、身份证号或案件编号）")})
    if len(term) > SEARCH_MAX_CHARS:
        raise ValidationFailed(fields={"q": _("搜索内容最多 %(limit)d 个字符（现有 %(count)d 个）")
                                       % {"limit": SEARCH_MAX_CHARS, "count": len(term)}})
    return term


def _phone_key(value: str) -> str:
    """Digits only, without a +86 / 0086 prefix: two ways of writing one number compare equal."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("0086"):
        return digits[4:]
    if digits.startswith("86") and len(digits) == 13:
        return digits[2:]
    return digits


def _cases_with_phone(actor: Any, term: str) -> list[int]:
    """The visible cases with a party of the whole phone number ``term`` (no partial matching, as for ID
    numbers). Phones are sealed and have no digest: the masked column, which keeps the last four digits,
    narrows the parties to a handful, and only those are opened and compared in memory."""
    if not PHONE_LIKE_RE.match(term) or personal.looks_like_resident_id(term):
        return []
    key = _phone_key(term)
    if len(key) < 7:
        return []
    candidates = (Party.objects.filter(case__in=selectors.cases_visible_to(actor).values("pk"),
                                       phone_masked__endswith=key[-4:])
                  .exclude(phone_enc="").only("pk", "case_id", "phone_enc"))
    found = []
    for party in candidates:
        try:
            if _phone_key(personal.party_phone(party)) == key:
                found.append(party.case_id)
        except fieldcrypt.DecryptionError:
            continue  # sealed under a key no longer configured: it cannot be compared, so it does not match
    return found


def case_search(*, actor: Any, term: str, filters: selectors.CaseFilters | None = None) -> QuerySet[DisputeCase]:
    """The staff search (the page's search box and ``POST /mediation/cases/search``): the cases the actor
    may see, narrowed by ``filters``, whose number or title contains ``term``, with a party whose name
    contains it, or with a party of that whole ID number (its keyed digest: the selector's ``q``) or
    whole phone number. ``term`` comes from search_term_clean."""
    f = dataclasses.replace(filters or selectors.CaseFilters(), q="")
    match = (Q(pk__in=selectors.case_list(actor=actor, filters=selectors.CaseFilters(q=term)).values("pk"))
             | Q(pk__in=Party.objects.filter(name__icontains=term).values("case_id")))
    phone_cases = _cases_with_phone(actor, term)
    if phone_cases:
        match |= Q(pk__in=phone_cases)
    return selectors.case_list(actor=actor, filters=f).filter(match)
