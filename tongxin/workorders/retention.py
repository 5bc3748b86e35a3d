"""PIPL retention: the citizen's name and phone leave a work order once it has been finished for long
enough (``TONGXIN_RETENTION_DAYS``, run by ``tongxin retention``). Only those two personal fields change;
the request itself (content, place, category, timeline) stays for the statistics and the archive.

"Finished" is a terminal status (closed, merged, withdrawn, invalid, transferred) whose last event is older
than the cutoff. Each run is one transaction with one audit row (how many orders, which cutoff), and is
idempotent: an order already without name and phone is not touched again.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Max, Q

from tongxin.core.audit import audit_record

from .choices import TERMINAL_STATUSES
from .models import WorkOrder

EVENT_TYPE = "retention_anonymised"  # docs/security.md: to join core's AuditEventType


@transaction.atomic
def anonymise_closed_before(cutoff: datetime, *, dry_run: bool = False) -> int:
    """Blank the citizen's name and phone of every order finished before ``cutoff``; the number of orders."""
    finished = (WorkOrder.objects.filter(status__in=TERMINAL_STATUSES)
                .filter(~Q(citizen_name="") | ~Q(citizen_phone=""))
                .annotate(last_event=Max("events__at"))
                .filter(Q(last_event__lt=cutoff) | Q(last_event__isnull=True, accepted_at__lt=cutoff)))
    # PostgreSQL refuses FOR UPDATE with the GROUP BY of the annotation: read the ids, then lock those rows
    # (a finished order stays finished — a redo is a new order — so the condition still holds).
    ids = list(finished.values_list("pk", flat=True))
    if dry_run or not ids:
        return len(ids)
    ids = list(WorkOrder.objects.select_for_update().filter(pk__in=ids, status__in=TERMINAL_STATUSES)
               .values_list("pk", flat=True))
    WorkOrder.objects.filter(pk__in=ids).update(citizen_name="", citizen_phone="")
    audit_record(actor=None, event_type=EVENT_TYPE, object_type="work_order", object_id="",
                 data={"count": len(ids), "cutoff": cutoff.isoformat(), "fields": ["citizen_name", "citizen_phone"],
                       "first_id": min(ids), "last_id": max(ids)})
    return len(ids)
