"""The case lifecycle as data, and the one guarded function that applies it.

``TRANSITIONS`` maps (status, action) to the next status (None: the status stays) and to who may take the
action: ``owner`` (a mediator of the organisation that owns the case — 首接首办), ``target`` (a mediator of
the organisation a pending hand-over is addressed to) or ``owner_or_leader`` (either, or the case leader
of a joint case). Any pair not in the table is illegal (409); the test suite walks every pair.
``restore`` marks the one transition that returns to the status recorded on the hand-over (a rejected
hand-over goes back to where it was).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope
from tongxin.core.errors import IllegalTransition, PermissionDenied

from .choices import Action, Status
from .models import CaseEvent, DisputeCase, Mediator

Who = Literal["owner", "target", "owner_or_leader"]


@dataclass(frozen=True)
class Transition:
    to: Status | None
    who: Who = "owner"
    restore: bool = False


TRANSITIONS: dict[tuple[Status, Action], Transition] = {
    # 即知即调: the receiving organisation mediates at once; or it hands the case over (分流 / 上报).
    (Status.RECEIVED, Action.MEDIATE): Transition(Status.MEDIATING),
    (Status.RECEIVED, Action.ROUTE): Transition(Status.HANDOVER),
    (Status.RECEIVED, Action.ESCALATE): Transition(Status.HANDOVER),
    (Status.RECEIVED, Action.WITHDRAW): Transition(Status.WITHDRAWN),
    (Status.RECEIVED, Action.RAISE_WORK_ORDER): Transition(None),
    (Status.MEDIATING, Action.SESSION): Transition(None),
    (Status.MEDIATING, Action.ROUTE): Transition(Status.HANDOVER),
    (Status.MEDIATING, Action.ESCALATE): Transition(Status.HANDOVER),
    (Status.MEDIATING, Action.START_JOINT): Transition(Status.JOINT),
    (Status.MEDIATING, Action.AGREE): Transition(Status.AGREED),
    (Status.MEDIATING, Action.FAIL): Transition(Status.FAILED),
    (Status.MEDIATING, Action.WITHDRAW): Transition(Status.WITHDRAWN),
    (Status.MEDIATING, Action.RAISE_WORK_ORDER): Transition(None),
    # 首接首办: the case stays with its owner until the receiving side accepts.
    (Status.HANDOVER, Action.ACCEPT_HANDOVER): Transition(Status.MEDIATING, "target"),
    (Status.HANDOVER, Action.REJECT_HANDOVER): Transition(None, "target", restore=True),
    # 联管联调: a case leader, joint meetings and visits.
    (Status.JOINT, Action.JOINT_MEETING): Transition(None, "owner_or_leader"),
    (Status.JOINT, Action.JOINT_VISIT): Transition(None, "owner_or_leader"),
    (Status.JOINT, Action.SESSION): Transition(None, "owner_or_leader"),
    (Status.JOINT, Action.AGREE): Transition(Status.AGREED, "owner_or_leader"),
    (Status.JOINT, Action.FAIL): Transition(Status.FAILED, "owner_or_leader"),
    (Status.JOINT, Action.ESCALATE): Transition(Status.HANDOVER),
    (Status.JOINT, Action.WITHDRAW): Transition(Status.WITHDRAWN),
    (Status.JOINT, Action.RAISE_WORK_ORDER): Transition(None, "owner_or_leader"),
    # After an agreement: judicial confirmation, follow-ups every N days, closing as stable.
    (Status.AGREED, Action.CONFIRM): Transition(None),
    (Status.AGREED, Action.FOLLOW_UP): Transition(None),
    (Status.AGREED, Action.CLOSE): Transition(Status.CLOSED),
    (Status.AGREED, Action.REOPEN): Transition(Status.MEDIATING),
    (Status.AGREED, Action.RAISE_WORK_ORDER): Transition(None),
    (Status.CLOSED, Action.CONFIRM): Transition(None),
}

# Actions that are not transitions of an existing case (intake) or that the table lists per status.
CASE_ACTIONS = [a for a in Action if a != Action.RECEIVE]


def allowed_actions(status: str) -> list[Action]:
    return [action for (s, action) in TRANSITIONS if s == status]


def mediator_org_ids(actor: Any) -> frozenset[int]:
    """The organisations the actor mediates for (memoised on the user object for this request)."""
    if actor is None or getattr(actor, "pk", None) is None:
        return frozenset()
    cached = getattr(actor, "_tongxin_mediator_orgs", None)
    if cached is not None:
        return cached
    ids = frozenset(
        Mediator.objects.filter(user_id=actor.pk, active=True, org__active=True).values_list("org_id", flat=True)
    )
    actor._tongxin_mediator_orgs = ids
    return ids


def _is_mediator_of(actor: Any, case: DisputeCase, org_id: int | None) -> bool:
    if org_id is None or org_id not in mediator_org_ids(actor):
        return False
    return actor_scope(actor).area_role_covers({Role.MEDIATOR}, case.area_path) is not None


def actor_role_for(case: DisputeCase, transition: Transition, actor: Any, *, target_org_id: int | None = None) -> str | None:
    """The capacity in which ``actor`` may take the transition on ``case``, or None."""
    if transition.who == "target":
        return Role.MEDIATOR if _is_mediator_of(actor, case, target_org_id) else None
    if _is_mediator_of(actor, case, case.owner_org_id):
        return Role.MEDIATOR
    if transition.who == "owner_or_leader" and case.case_leader_id is not None and case.case_leader_id == actor.pk:
        return "case_leader"
    return None


def check_transition(case: DisputeCase, action: Action | str, actor: Any, *, target_org_id: int | None = None) -> tuple[Transition, str]:
    """Reject a pair outside the table (409) or an actor without the right capacity (403)."""
    transition = TRANSITIONS.get((Status(case.status), Action(action)))
    if transition is None:
        raise IllegalTransition(
            _("案件当前状态为「%(status)s」，不能执行「%(action)s」") % {
                "status": Status(case.status).label, "action": Action(action).label},
            fields={"action": str(action), "status": case.status},
        )
    role = actor_role_for(case, transition, actor, target_org_id=target_org_id)
    if role is None:
        raise PermissionDenied(_("您不能对该案件执行「%(action)s」（首接首办：由承办组织的调解员办理）") % {
            "action": Action(action).label})
    return transition, role


def _label(actor: Any) -> str:
    if actor is None:
        return "系统"
    return getattr(actor, "display_name", "") or actor.get_username()


def apply_transition(
    case: DisputeCase, action: Action | str, *, actor: Any, role: str, transition: Transition, note: str = "",
    data: dict[str, Any] | None = None, org_id: int | None = None, restore_to: str | None = None,
    update_fields: list[str] | None = None,
) -> CaseEvent:
    """Move the (locked) case, bump its version and write the event, inside the locking transaction."""
    at = timezone.now()
    from_status = case.status
    if transition.restore:
        case.status = restore_to or from_status
    elif transition.to is not None:
        case.status = transition.to
    case.version += 1
    case.save(update_fields=sorted({"status", "version", *(update_fields or [])}))
    return CaseEvent.objects.create(
        case=case, action=str(action), from_status=from_status, to_status=case.status, actor=actor, actor_role=role,
        actor_label=_label(actor), org_id=org_id or case.owner_org_id, at=at, note=note, data=data or {},
    )
