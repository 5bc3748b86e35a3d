"""派单 · 签收 · 退单 · 改派 · 强制派单 · 延期 · 催办 · 督办, and optimistic concurrency.

Each refused call is checked to write nothing (the order row, its events, assignments, extension requests).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tongxin.core.errors import Conflict, IllegalTransition, PermissionDenied, ValidationFailed
from tongxin.workorders import services as s
from tongxin.workorders.choices import Action, AssignmentRole, ExtensionStatus, Status
from tongxin.workorders.models import ExtensionRequest, WorkOrderAssignment

from .engine_helpers import (  # noqa: F401 - fast_password_hashing is an autouse fixture
    at,
    create,
    drive,
    events_of,
    fast_password_hashing,
    perform,
    snapshot,
    time_travel,
)

pytestmark = pytest.mark.django_db


def refused(order, error, call, *, field=None, code=None):
    before = snapshot(order)
    with pytest.raises(error) as caught:
        call()
    if field is not None:
        assert field in caught.value.fields, caught.value.fields
    if code is not None:
        assert caught.value.code == code
    assert snapshot(order) == before
    return caught.value


def leads(order):
    return list(WorkOrderAssignment.objects.filter(order=order, role=AssignmentRole.LEAD).order_by("id"))


# --- dispatch ---------------------------------------------------------------------------------------

def test_dispatch_follows_the_catalogue_and_starts_both_clocks(world):
    with time_travel(at(2025, 3, 3, 9, 0)):  # a Monday
        order = create(world)
        s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"), note="按目录派单")
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.lead_department == world.housing
    assert order.dispatched_at == at(2025, 3, 3, 9, 0)
    assert order.sign_due_at == at(2025, 3, 3, 11, 0)  # 2 working hours
    assert order.due_at == at(2025, 3, 10, 9, 0)  # 5 working days
    assignments = WorkOrderAssignment.objects.filter(order=order, active=True)
    assert {(a.department_id, a.role) for a in assignments} == {(world.housing.pk, "lead"), (world.water.pk, "co")}
    assert events_of(order)[-1].data == {"lead_department_id": world.housing.pk, "co_department_ids": [world.water.pk]}


def test_dispatch_needs_a_category(world):
    order = create(world, category_code=None)
    refused(order, ValidationFailed, lambda: s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher")),
            field="category_code")
    # Even with an explicit department: the category decides the time limits.
    refused(order, ValidationFailed, lambda: s.work_order_dispatch(
        order_id=order.pk, actor=world.user("dispatcher"), lead_department_id=world.housing.pk), field="category_code")


def test_dispatch_to_chosen_departments(world):
    order = create(world)
    s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"), lead_department_id=world.education.pk,
                          co_department_ids=[world.water.pk, world.housing.pk, world.water.pk])
    active = WorkOrderAssignment.objects.filter(order=order, active=True)
    assert sorted((a.department_id, a.role) for a in active) == sorted(
        [(world.education.pk, "lead"), (world.water.pk, "co"), (world.housing.pk, "co")])


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"lead_department_id": 999999}, "lead_department_id"),
    ({"lead_department_id": "abc"}, "lead_department_id"),
    ({"co_department_ids": [999999]}, "co_department_ids[0]"),
    ({"co_department_ids": ["x"]}, "co_department_ids[0]"),
])
def test_dispatch_to_unknown_departments(world, kwargs, field):
    order = create(world)
    kwargs = {"lead_department_id": world.housing.pk, **kwargs}
    refused(order, ValidationFailed, lambda: s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"),
                                                                   **kwargs), field=field)


def test_dispatch_to_an_inactive_department(world):
    world.education.active = False
    world.education.save()
    order = create(world)
    refused(order, ValidationFailed, lambda: s.work_order_dispatch(
        order_id=order.pk, actor=world.user("dispatcher"), lead_department_id=world.education.pk),
        field="lead_department_id")


def test_co_department_equal_to_lead_is_refused(world):
    order = create(world)
    error = refused(order, ValidationFailed, lambda: s.work_order_dispatch(
        order_id=order.pk, actor=world.user("dispatcher"), lead_department_id=world.housing.pk,
        co_department_ids=[world.water.pk, world.housing.pk]), field="co_department_ids[1]")
    assert "主办" in error.fields["co_department_ids[1]"]


def test_dispatch_refuses_an_order_outside_the_dispatchers_area(world):
    from tongxin.core.errors import NotFound

    order = create(world)
    refused(order, NotFound, lambda: s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher_b")))
    refused(order, NotFound, lambda: s.work_order_dispatch(order_id="not-a-number", actor=world.user("dispatcher")))


# --- sign and return --------------------------------------------------------------------------------

def test_sign_stamps_the_order_and_the_lead_assignment(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        order = drive(world, Status.DISPATCHED)
        clock.set(at(2025, 3, 3, 10, 0))
        s.work_order_sign(order_id=order.pk, actor=world.user("handler2"))
    order.refresh_from_db()
    assert order.status == Status.IN_PROGRESS and order.signed_at == at(2025, 3, 3, 10, 0)
    (lead,) = leads(order)
    assert lead.signed_at == at(2025, 3, 3, 10, 0)
    assert events_of(order)[-1].data == {"on_time": True}


def test_a_co_handler_cannot_sign(world):
    order = drive(world, Status.DISPATCHED)
    refused(order, PermissionDenied, lambda: s.work_order_sign(order_id=order.pk, actor=world.user("water_handler")))


@pytest.mark.parametrize(("reason", "note", "field"), [
    ("", "说明", "reason"), ("because", "说明", "reason"), (None, "说明", "reason"),
    ("not_our_duty", "", "note"), ("not_our_duty", "   ", "note"), ("not_our_duty", "长" * 2001, "note"),
])
def test_return_needs_a_listed_reason_and_a_note(world, reason, note, field):
    order = drive(world, Status.DISPATCHED)
    refused(order, ValidationFailed, lambda: s.work_order_return(
        order_id=order.pk, actor=world.user("handler"), reason=reason, note=note), field=field)


def test_return_hands_the_order_back_to_the_centre(world):
    order = drive(world, Status.DISPATCHED)
    s.work_order_return(order_id=order.pk, actor=world.user("handler"), reason="not_our_area", note="不在本辖区")
    order.refresh_from_db()
    assert order.status == Status.RETURNED
    assert order.lead_department is None and order.due_at is None and order.sign_due_at is None
    (lead,) = leads(order)
    assert (lead.active, lead.return_reason) == (False, "not_our_area") and lead.returned_at is not None
    assert not WorkOrderAssignment.objects.filter(order=order, active=True).exists()
    event = events_of(order)[-1]
    assert event.department_id == world.housing.pk and event.data == {"reason": "not_our_area"}
    # The returning handler still sees the order (history) but can no longer act on it.
    refused(order, IllegalTransition, lambda: s.work_order_sign(order_id=order.pk, actor=world.user("handler")))


def test_reassign_restarts_the_clocks_for_the_new_lead(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        order = drive(world, Status.RETURNED)
        clock.set(at(2025, 3, 4, 14, 0))
        s.work_order_reassign(order_id=order.pk, actor=world.user("dispatcher"), lead_department_id=world.education.pk)
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.lead_department == world.education
    assert order.dispatched_at == at(2025, 3, 4, 14, 0)
    assert order.sign_due_at == at(2025, 3, 4, 16, 30)  # the clock starts when the afternoon does
    old, new = leads(order)
    assert (old.department_id, old.active) == (world.housing.pk, False)
    assert (new.department_id, new.active, new.sign_due_at) == (world.education.pk, True, order.sign_due_at)
    assert events_of(order)[-1].data["previous_department_id"] is None  # the returned order had no lead


def test_force_dispatch_returns_the_order_to_the_department_that_returned_it(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        order = create(world)
        s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"), lead_department_id=world.education.pk,
                              co_department_ids=[world.water.pk])
        s.work_order_return(order_id=order.pk, actor=world.user("edu_handler"), reason="not_our_duty", note="非教育事项")
        refused(order, ValidationFailed, lambda: s.work_order_force_dispatch(
            order_id=order.pk, actor=world.user("dispatcher"), note=""), field="note")
        clock.set(at(2025, 3, 3, 15, 0))
        s.work_order_force_dispatch(order_id=order.pk, actor=world.user("supervisor"), note="职责清单明确属于贵单位")
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.lead_department == world.education
    assert order.sign_due_at == at(2025, 3, 3, 17, 0)
    active = {(a.department_id, a.role) for a in WorkOrderAssignment.objects.filter(order=order, active=True)}
    assert active == {(world.education.pk, "lead"), (world.water.pk, "co")}
    s.work_order_sign(order_id=order.pk, actor=world.user("edu_handler"))


def test_force_dispatch_after_a_reassignment_goes_to_the_last_returner(world):
    order = drive(world, Status.RETURNED)  # housing returned it
    s.work_order_reassign(order_id=order.pk, actor=world.user("dispatcher"), lead_department_id=world.education.pk)
    s.work_order_return(order_id=order.pk, actor=world.user("edu_handler"), reason="not_our_duty", note="非教育事项")
    s.work_order_force_dispatch(order_id=order.pk, actor=world.user("dispatcher"), note="请办理")
    order.refresh_from_db()
    assert order.lead_department == world.education


# --- extensions -------------------------------------------------------------------------------------

def _in_progress_on_monday(world, clock):
    clock.set(at(2025, 3, 3, 9, 0))
    order = drive(world, Status.IN_PROGRESS)
    assert order.due_at == at(2025, 3, 10, 9, 0)
    return order


def _request(world, order, due, reason="需协调多个单位", actor="handler"):
    return s.work_order_request_extension(order_id=order.pk, actor=world.user(actor), requested_due_at=due,
                                          reason=reason)


def test_extension_only_before_the_deadline(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        order = _in_progress_on_monday(world, clock)
        clock.set(at(2025, 3, 10, 9, 0))  # the very moment of the deadline: too late
        refused(order, Conflict, lambda: _request(world, order, at(2025, 3, 14, 18, 0)), code="deadline_passed")
        clock.set(at(2025, 3, 10, 8, 59))
        request = _request(world, order, at(2025, 3, 14, 18, 0))
    assert request.status == ExtensionStatus.PENDING and request.previous_due_at == at(2025, 3, 10, 9, 0)
    order.refresh_from_db()
    assert order.due_at == at(2025, 3, 10, 9, 0)  # unchanged until approved
    assert events_of(order)[-1].action == Action.REQUEST_EXTENSION


def test_extension_must_be_later_than_the_current_deadline(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        order = _in_progress_on_monday(world, clock)
        for due in (at(2025, 3, 10, 9, 0), at(2025, 3, 7, 9, 0)):
            refused(order, ValidationFailed, lambda due=due: _request(world, order, due), field="requested_due_at")
        refused(order, ValidationFailed, lambda: _request(world, order, at(2025, 9, 1, 9, 0)), field="requested_due_at")
        naive = at(2025, 3, 14, 18, 0).replace(tzinfo=None)
        refused(order, ValidationFailed, lambda: _request(world, order, naive), field="requested_due_at")
        refused(order, ValidationFailed, lambda: _request(world, order, "2025-03-14"), field="requested_due_at")
        refused(order, ValidationFailed, lambda: _request(world, order, at(2025, 3, 14, 18, 0), reason=""),
                field="reason")


def test_one_pending_extension_at_a_time(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        order = _in_progress_on_monday(world, clock)
        _request(world, order, at(2025, 3, 14, 18, 0))
        refused(order, Conflict, lambda: _request(world, order, at(2025, 3, 17, 18, 0), actor="handler2"),
                code="extension_pending")
        s.work_order_decide_extension(order_id=order.pk, actor=world.user("dispatcher"), approve=False, note="不同意")
        _request(world, order, at(2025, 3, 12, 18, 0))  # after a decision, a new request may follow
    assert ExtensionRequest.objects.filter(order=order).count() == 2


def test_approval_moves_the_deadline_and_its_warning(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        order = _in_progress_on_monday(world, clock)
        clock.set(at(2025, 3, 6, 10, 0))
        _request(world, order, at(2025, 3, 17, 9, 0))
        clock.set(at(2025, 3, 6, 11, 0))
        s.work_order_decide_extension(order_id=order.pk, actor=world.user("dispatcher"), approve=True)
    order.refresh_from_db()
    assert order.due_at == at(2025, 3, 17, 9, 0)
    # 80 % of the allowed working time (dispatch Mon 3rd 09:00 → Mon 17th 09:00: 10 working days = 70 h): 56 h,
    # i.e. 8 working days after dispatch.
    assert order.due_warn_at == at(2025, 3, 13, 9, 0)
    request = ExtensionRequest.objects.get(order=order)
    assert (request.status, request.decided_by) == (ExtensionStatus.APPROVED, world.user("dispatcher"))
    event = events_of(order)[-1]
    assert event.action == Action.APPROVE_EXTENSION
    assert datetime.fromisoformat(event.data["due_at"]) == at(2025, 3, 17, 9, 0)


def test_denial_requires_a_note_and_keeps_the_deadline(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        order = _in_progress_on_monday(world, clock)
        refused(order, Conflict, lambda: s.work_order_decide_extension(
            order_id=order.pk, actor=world.user("dispatcher"), approve=True), code="no_pending_extension")
        _request(world, order, at(2025, 3, 14, 18, 0))
        refused(order, ValidationFailed, lambda: s.work_order_decide_extension(
            order_id=order.pk, actor=world.user("dispatcher"), approve=False, note=" "), field="note")
        s.work_order_decide_extension(order_id=order.pk, actor=world.user("supervisor"), approve=False, note="理由不足")
    order.refresh_from_db()
    assert order.due_at == at(2025, 3, 10, 9, 0)
    assert ExtensionRequest.objects.get(order=order).status == ExtensionStatus.DENIED


def test_handlers_cannot_decide_and_dispatchers_cannot_request(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        order = _in_progress_on_monday(world, clock)
        refused(order, PermissionDenied, lambda: _request(world, order, at(2025, 3, 14, 18, 0), actor="dispatcher"))
        _request(world, order, at(2025, 3, 14, 18, 0))
        refused(order, PermissionDenied, lambda: s.work_order_decide_extension(
            order_id=order.pk, actor=world.user("handler"), approve=True))


# --- remind and supervise ---------------------------------------------------------------------------

def test_supervision_needs_its_text_and_reminders_do_not(world):
    order = drive(world, Status.IN_PROGRESS)
    refused(order, ValidationFailed, lambda: s.work_order_supervise(
        order_id=order.pk, actor=world.user("supervisor"), note=""), field="note")
    refused(order, PermissionDenied, lambda: s.work_order_supervise(
        order_id=order.pk, actor=world.user("dispatcher"), note="督办"))
    s.work_order_remind(order_id=order.pk, actor=world.user("dispatcher"))
    s.work_order_supervise(order_id=order.pk, actor=world.user("supervisor"), note="请于今日办结")
    assert [e.action for e in events_of(order)][-2:] == [Action.REMIND, Action.SUPERVISE]
    order.refresh_from_db()
    assert order.status == Status.IN_PROGRESS


# --- optimistic concurrency -------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "action", "username"), [
    (Status.ACCEPTED, Action.DISPATCH, "dispatcher"),
    (Status.DISPATCHED, Action.SIGN, "handler"),
    (Status.DISPATCHED, Action.RETURN, "handler"),
    (Status.RETURNED, Action.REASSIGN, "dispatcher"),
    (Status.RETURNED, Action.FORCE_DISPATCH, "dispatcher"),
    (Status.IN_PROGRESS, Action.REQUEST_EXTENSION, "handler"),
    (Status.IN_PROGRESS, Action.SUPERVISE, "supervisor"),
    (Status.IN_PROGRESS, Action.CO_REPLY, "water_handler"),
    (Status.REPLIED, Action.CALLBACK, "operator"),
    (Status.REPLIED, Action.REDO, "operator"),
    (Status.ACCEPTED, Action.WITHDRAW, "operator"),
    (Status.ACCEPTED, Action.MERGE, "operator"),
])
def test_a_stale_version_is_a_conflict_and_writes_nothing(world, status, action, username):
    order = drive(world, status)
    into = create(world)
    order.refresh_from_db()
    stale = order.version - 1
    error = refused(order, Conflict, lambda: perform(world, action, order, world.user(username), into=into,
                                                     version=stale), code="stale_version")
    assert error.status == 409 and "version" in error.fields
    # The version the client read is accepted.
    perform(world, action, order, world.user(username), into=into, version=order.version)


def test_the_version_goes_up_by_one_per_action(world):
    order = create(world)
    versions = [order.version]
    s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"), version=1)
    s.work_order_sign(order_id=order.pk, actor=world.user("handler"), version=2)
    s.work_order_remind(order_id=order.pk, actor=world.user("dispatcher"), version=3)
    order.refresh_from_db()
    versions.append(order.version)
    assert versions == [1, 4]
    # The old number no longer works, whoever sends it.
    refused(order, Conflict, lambda: s.work_order_remind(order_id=order.pk, actor=world.user("dispatcher"), version=3),
            code="stale_version")


def test_a_reassignment_voids_the_previous_leads_pending_extension(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        order = _in_progress_on_monday(world, clock)
        _request(world, order, at(2025, 3, 12, 18, 0))  # housing asks for two more days
        clock.set(at(2025, 3, 6, 9, 0))
        s.work_order_reassign(order_id=order.pk, actor=world.user("dispatcher"), lead_department_id=world.education.pk)
        s.work_order_sign(order_id=order.pk, actor=world.user("edu_handler"))
        order.refresh_from_db()
        assert order.due_at == at(2025, 3, 13, 9, 0)  # education's own fresh clock
        # Housing's request no longer applies: approving it would have cut education's deadline short.
        request = ExtensionRequest.objects.get(order=order)
        assert request.status == ExtensionStatus.DENIED and request.decided_by is None and request.decision_note
        refused(order, Conflict, lambda: s.work_order_decide_extension(
            order_id=order.pk, actor=world.user("dispatcher"), approve=True), code="no_pending_extension")
        # Education may ask for its own extension.
        _request(world, order, at(2025, 3, 17, 18, 0), actor="edu_handler")
    assert ExtensionRequest.objects.filter(order=order, status=ExtensionStatus.PENDING).count() == 1
