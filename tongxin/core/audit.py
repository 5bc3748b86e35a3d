"""Writing the audit log. Call inside the transaction of the change being recorded."""

from __future__ import annotations

from typing import Any

from .choices import AuditEventType
from .models import AuditEvent


def audit_record(
    *, actor: Any, event_type: AuditEventType | str, object_type: str = "", object_id: Any = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    label = ""
    actor_pk = None
    if actor is not None and getattr(actor, "pk", None) is not None:
        actor_pk = actor.pk
        label = getattr(actor, "display_name", "") or actor.get_username()
    return AuditEvent.objects.create(
        actor_id=actor_pk,
        actor_label=label or "system",
        event_type=event_type,
        object_type=object_type,
        object_id=str(object_id),
        data=data or {},
    )
