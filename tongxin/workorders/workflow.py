"""The work-order lifecycle as data, and the one guarded function that applies it.

``TRANSITIONS`` maps (status, action) to the next status (None: the status stays), the roles that may
take the action and where the role must hold: ``area`` (a centre role whose area scope contains the
order), ``lead`` (a handler of the current lead department) or ``co`` (a handler of an active
co-handling department). Any pair not in the table is illegal; the test suite walks every pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import ActorScope
from tongxin.core.errors import IllegalTransition, PermissionDenied

from .choices import Action, AssignmentRole, Status
from .models import WorkOrder, WorkOrderEvent

Scope = Literal["area", "lead", "co"]

INTAKE = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR})
DISPATCH = frozenset({Role.DISPATCHER, Role.SUPERVISOR})
SUPERVISION = frozenset({Role.SUPERVISOR})
CALLBACK = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR})
HANDLER = frozenset({Role.HANDLER})


@dataclass(frozen=True)
class Transition:
    to: Status | None
    roles: frozenset[str]
    scope: Scope = "area"


def _common(status: Status) -> dict[tuple[Status, Action], Transition]:
    """Actions open in every non-terminal status."""
    return {
        (status, Action.MERGE): Transition(Status.MERGED, INTAKE),
        (status, Action.WITHDRAW): Transition(Status.WITHDRAWN, INTAKE),
        (status, Action.COMMENT): Transition(None, INTAKE),
    }


TRANSITIONS: dict[tuple[Status, Action], Transition] = {
    # 受理: the centre answers on the call, dispatches, or sets the order aside.
    (Status.ACCEPTED, Action.RESOLVE_ON_CALL): Transition(Status.REPLIED, frozenset({Role.OPERATOR, Role.DISPATCHER})),
    (Status.ACCEPTED, Action.DISPATCH): Transition(Status.DISPATCHED, INTAKE),
    (Status.ACCEPTED, Action.MARK_INVALID): Transition(Status.INVALID, DISPATCH),
    (Status.ACCEPTED, Action.TRANSFER_POLICE): Transition(Status.TRANSFERRED, frozenset({Role.OPERATOR, Role.DISPATCHER})),
    **_common(Status.ACCEPTED),
    # 派单 → 签收 or 退单.
    (Status.DISPATCHED, Action.SIGN): Transition(Status.IN_PROGRESS, HANDLER, "lead"),
    (Status.DISPATCHED, Action.RETURN): Transition(Status.RETURNED, HANDLER, "lead"),
    (Status.DISPATCHED, Action.REASSIGN): Transition(Status.DISPATCHED, DISPATCH),
    (Status.DISPATCHED, Action.REMIND): Transition(None, DISPATCH),
    (Status.DISPATCHED, Action.SUPERVISE): Transition(None, SUPERVISION),
    (Status.DISPATCHED, Action.CO_REPLY): Transition(None, HANDLER, "co"),
    **_common(Status.DISPATCHED),
    # 办理.
    (Status.IN_PROGRESS, Action.REPLY): Transition(Status.REPLIED, HANDLER, "lead"),
    (Status.IN_PROGRESS, Action.CO_REPLY): Transition(None, HANDLER, "co"),
    (Status.IN_PROGRESS, Action.REQUEST_EXTENSION): Transition(None, HANDLER, "lead"),
    (Status.IN_PROGRESS, Action.APPROVE_EXTENSION): Transition(None, DISPATCH),
    (Status.IN_PROGRESS, Action.DENY_EXTENSION): Transition(None, DISPATCH),
    (Status.IN_PROGRESS, Action.REMIND): Transition(None, DISPATCH),
    (Status.IN_PROGRESS, Action.SUPERVISE): Transition(None, SUPERVISION),
    (Status.IN_PROGRESS, Action.REASSIGN): Transition(Status.DISPATCHED, DISPATCH),
    **_common(Status.IN_PROGRESS),
    # 退单: the centre reassigns, insists, or answers itself.
    (Status.RETURNED, Action.REASSIGN): Transition(Status.DISPATCHED, DISPATCH),
    (Status.RETURNED, Action.FORCE_DISPATCH): Transition(Status.DISPATCHED, DISPATCH),
    (Status.RETURNED, Action.RESOLVE_ON_CALL): Transition(Status.REPLIED, DISPATCH),
    (Status.RETURNED, Action.MARK_INVALID): Transition(Status.INVALID, DISPATCH),
    **_common(Status.RETURNED),
    # 回访: close, or redo (the original closes unsatisfied and a linked new order is dispatched).
    (Status.REPLIED, Action.CALLBACK): Transition(Status.CLOSED, CALLBACK),
    (Status.REPLIED, Action.REDO): Transition(Status.CLOSED, CALLBACK),
    (Status.REPLIED, Action.COMMENT): Transition(None, INTAKE),
}

# Actions the SLA sweep takes as "the system" (no user).
SYSTEM_ACTIONS = frozenset({Action.REMIND, Action.SUPERVISE})


def allowed_actions(status: str) -> list[Action]:
    return [action for (s, action) in TRANSITIONS if s == status]


def actor_role_for(order: WorkOrder, action: Action, transition: Transition, scope: ActorScope) -> str | None:
    """The role under which ``scope`` may take ``action`` on ``order``, or None."""
    if transition.scope == "area":
        return scope.area_role_covers(transition.roles, order.area_path)
    if transition.scope == "lead":
        return scope.department_role_covers(transition.roles, order.lead_department_id)
    co_ids = {
        a.department_id for a in order.assignments.all() if a.active and a.role == AssignmentRole.CO
    }
    for department_id in scope.department_roles.get(Role.HANDLER, ()):
        if department_id in co_ids:
            return Role.HANDLER
    return None


def check_transition(order: WorkOrder, action: Action, scope: ActorScope | None) -> tuple[Transition, str]:
    """Reject a pair outside the table (409) or an actor without the right role there (403)."""
    transition = TRANSITIONS.get((Status(order.status), Action(action)))
    if transition is None:
        raise IllegalTransition(
            _("工单当前状态为「%(status)s」，不能执行「%(action)s」") % {
                "status": Status(order.status).label, "action": Action(action).label},
            fields={"action": action, "status": order.status},
        )
    if scope is None:
        if action not in SYSTEM_ACTIONS:
            raise PermissionDenied(_("系统不能执行此操作"))
        return transition, "system"
    role = actor_role_for(order, action, transition, scope)
    if role is None:
        raise PermissionDenied(_("您的角色不能对该工单执行「%(action)s」") % {"action": Action(action).label})
    return transition, role


def apply_transition(
    order: WorkOrder, action: Action, *, actor: Any, role: str, transition: Transition, note: str = "",
    data: dict[str, Any] | None = None, department_id: int | None = None, at: Any = None,
    update_fields: list[str] | None = None,
) -> WorkOrderEvent:
    """Move the (locked) order, bump its version and write the event. Call inside the transaction that
    locked the row, after every check has passed."""
    at = at or timezone.now()
    from_status = order.status
    if transition.to is not None:
        order.status = transition.to
    order.version += 1
    fields = {"status", "version", *(update_fields or [])}
    order.save(update_fields=sorted(fields))
    label = ""
    if actor is not None:
        label = getattr(actor, "display_name", "") or actor.get_username()
    return WorkOrderEvent.objects.create(
        order=order, action=action, from_status=from_status, to_status=order.status,
        actor=actor if actor is not None else None, actor_role=role, actor_label=label or "系统",
        department_id=department_id, at=at, note=note, data=data or {},
    )
