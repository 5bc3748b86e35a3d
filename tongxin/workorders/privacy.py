"""The deliberate, audited reveal of a citizen's name and phone, and the related-orders read of the
order page. Names and phones are masked everywhere else (tongxin.core.masking).

Who may reveal: the roles that call citizens back — operators, dispatchers and supervisors whose area
holds the order, and handlers of its lead department. Every reveal writes a ``personal_data_reveal``
audit row in the same transaction as the read; a refused reveal writes nothing and answers 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from tongxin.accounts.choices import CENTRE_ROLES, Role
from tongxin.accounts.selectors import actor_scope
from tongxin.core.audit import audit_record
from tongxin.core.choices import AuditEventType
from tongxin.core.datums import haversine_m
from tongxin.core.errors import NotFound, PermissionDenied

from .models import WorkOrder
from .selectors import work_order_get, work_orders_visible_to

RELATED_DAYS = 90
RELATED_RADIUS_DEG = 0.003  # ≈ 330 m north–south, ≈ 250 m east–west at Ordos' latitude: a box, then haversine


@dataclass(frozen=True)
class CitizenReveal:
    order_id: int
    number: str
    citizen_name: str
    citizen_phone: str
    anonymous: bool
    role: str


def citizen_reveal_role(*, actor: Any, order: WorkOrder) -> str | None:
    """The role under which ``actor`` may see this order's citizen unmasked, or None."""
    # Admins configure the system; they do not call citizens back, so they are not on this list.
    scope = actor_scope(actor)
    return scope.area_role_covers(CENTRE_ROLES, order.area_path) or scope.department_role_covers(
        {Role.HANDLER}, order.lead_department_id)


@transaction.atomic
def work_order_citizen_reveal(*, actor: Any, order_id: Any, via: str = "page") -> CitizenReveal:
    order = work_order_get(actor=actor, order_id=order_id)
    if order is None:
        raise NotFound()
    role = citizen_reveal_role(actor=actor, order=order)
    if role is None:
        raise PermissionDenied("您的角色无权查看诉求人的姓名和电话")
    audit_record(actor=actor, event_type=AuditEventType.PERSONAL_DATA_REVEAL, object_type="workorder",
                 object_id=order.pk, data={"number": order.number, "fields": ["citizen_name", "citizen_phone"],
                                           "role": role, "via": via})
    return CitizenReveal(order_id=order.pk, number=order.number, citizen_name=order.citizen_name,
                         citizen_phone=order.citizen_phone, anonymous=order.anonymous, role=role)


def related_orders(*, actor: Any, order: WorkOrder, limit: int = 10) -> dict[str, list[WorkOrder]]:
    """Other orders the actor may see from the same caller (any time) and about the same place (within
    about 300 m, or the same grid without a point, in the last ``RELATED_DAYS`` days)."""
    # The page shows each one's category name: one join, not a query per row.
    visible = (work_orders_visible_to(actor).exclude(pk=order.pk).select_related("category")
               .defer("content", "reply_text"))
    same_caller: list[WorkOrder] = []
    if order.citizen_phone and not order.anonymous:
        same_caller = list(visible.filter(citizen_phone=order.citizen_phone).order_by("-accepted_at")[:limit])
    window = Q(accepted_at__gte=order.accepted_at - timedelta(days=RELATED_DAYS),
               accepted_at__lte=order.accepted_at + timedelta(days=RELATED_DAYS))
    if order.lat is not None and order.lng is not None:
        box = visible.filter(window, lat__gte=order.lat - RELATED_RADIUS_DEG, lat__lte=order.lat + RELATED_RADIUS_DEG,
                             lng__gte=order.lng - RELATED_RADIUS_DEG, lng__lte=order.lng + RELATED_RADIUS_DEG)
        near = [o for o in box.order_by("-accepted_at")[:200]
                if haversine_m(order.lat, order.lng, o.lat, o.lng) <= 300]  # type: ignore[arg-type]
    else:
        near = list(visible.filter(window, area_id=order.area_id).order_by("-accepted_at")[:200])
    caller_ids = {o.pk for o in same_caller}
    return {"same_caller": same_caller, "same_place": [o for o in near if o.pk not in caller_ids][:limit]}
