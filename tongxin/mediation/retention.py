"""PIPL retention: the parties' personal data leave a dispute case once it has been closed or withdrawn
for long enough (``TONGXIN_RETENTION_DAYS``, run by ``tongxin retention``). A person's name becomes its
masked form (张*); phone and ID number are blanked in every form they are kept in (sealed, masked, and the
ID number's digest, so the person can no longer be matched either); organisations keep their names (not
personal data).
The case, its agreement and its timeline stay.

Finished: status closed or withdrawn and the last case event older than the cutoff. One transaction and
one audit row per run; idempotent (a party already anonymised is not touched again).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Max, Q

from tongxin.core.audit import audit_record
from tongxin.core.masking import mask_name

from .choices import PartyKind, Status
from .models import DisputeCase, Party
from .personal import SEALED_COLUMNS, party_clear

EVENT_TYPE = "retention_anonymised"  # docs/security.md: to join core's AuditEventType


@transaction.atomic
def anonymise_closed_before(cutoff: datetime, *, dry_run: bool = False) -> int:
    """Anonymise the parties of every case finished before ``cutoff``; the number of parties changed."""
    cases = (DisputeCase.objects.filter(status__in=[Status.CLOSED, Status.WITHDRAWN])
             .annotate(last_event=Max("events__at"))
             .filter(Q(last_event__lt=cutoff) | Q(last_event__isnull=True, closed_at__lt=cutoff))
             .values_list("pk", flat=True))
    parties = Party.objects.filter(case_id__in=list(cases)).filter(
        ~Q(phone_enc="") | ~Q(phone_masked="") | ~Q(id_number_enc="") | ~Q(id_digest="") | ~Q(id_masked="")
        | Q(kind=PartyKind.PERSON, name__regex=r"^.[^*]"))
    rows = list(parties.select_for_update()) if not dry_run else list(parties)
    if dry_run or not rows:
        return len(rows)
    for party in rows:
        if party.kind == PartyKind.PERSON:
            party.name = mask_name(party.name)
        party_clear(party)
    Party.objects.bulk_update(rows, ["name", *SEALED_COLUMNS])
    audit_record(actor=None, event_type=EVENT_TYPE, object_type="dispute_case", object_id="",
                 data={"count": len(rows), "cutoff": cutoff.isoformat(), "fields": ["name", "phone", "id_number"],
                       "cases": sorted({party.case_id for party in rows})})
    return len(rows)
