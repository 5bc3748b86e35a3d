"""协办答复 · 办结答复 · 直接办结 · 回访 · 重办 · 并单 · 撤单 · 无效 · 转110."""

from __future__ import annotations

import pytest
from django.conf import settings

from tongxin.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongxin.workorders import services as s
from tongxin.workorders.choices import Action, AssignmentRole, Status
from tongxin.workorders.models import WorkOrder, WorkOrderAssignment

from .engine_helpers import (  # noqa: F401 - fast_password_hashing is an autouse fixture
    POINT_B,
    at,
    create,
    drive,
    events_of,
    fast_password_hashing,
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


# --- replies ----------------------------------------------------------------------------------------

def test_reply_waits_for_every_co_handler(world):
    order = drive(world, Status.IN_PROGRESS)
    error = refused(order, Conflict, lambda: s.work_order_reply(order_id=order.pk, actor=world.user("handler"),
                                                                text="已处理"), code="co_handlers_pending")
    assert world.water.name in error.message
    s.work_order_co_reply(order_id=order.pk, actor=world.user("water_handler"), text="已配合清运")
    s.work_order_reply(order_id=order.pk, actor=world.user("handler"), text="已清理完毕")
    order.refresh_from_db()
    assert order.status == Status.REPLIED and order.reply_text == "已清理完毕" and order.replied_at
    assert events_of(order)[-1].data == {"attachment_ids": [], "on_time": True}


def test_co_reply_once_and_only_by_a_co_handler(world):
    order = drive(world, Status.DISPATCHED)  # co-handlers may answer before the lead signs
    refused(order, ValidationFailed, lambda: s.work_order_co_reply(order_id=order.pk, actor=world.user("water_handler"),
                                                                   text=""), field="text")
    refused(order, PermissionDenied, lambda: s.work_order_co_reply(order_id=order.pk, actor=world.user("handler"),
                                                                   text="主办不能协办答复"))
    refused(order, NotFound, lambda: s.work_order_co_reply(order_id=order.pk, actor=world.user("edu_handler"),
                                                           text="无关单位"))
    s.work_order_co_reply(order_id=order.pk, actor=world.user("water_handler"), text="已配合")
    refused(order, Conflict, lambda: s.work_order_co_reply(order_id=order.pk, actor=world.user("water_handler"),
                                                           text="再次答复"), code="already_replied")
    co = WorkOrderAssignment.objects.get(order=order, role=AssignmentRole.CO)
    assert co.reply_text == "已配合" and co.replied_at is not None
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED


def test_reply_text_is_required_and_bounded(world):
    order = drive(world, Status.IN_PROGRESS)
    s.work_order_co_reply(order_id=order.pk, actor=world.user("water_handler"), text="已配合")
    for text in ("", "  ", "答" * (settings.TONGXIN_MAX_CONTENT_CHARS + 1)):
        refused(order, ValidationFailed, lambda text=text: s.work_order_reply(
            order_id=order.pk, actor=world.user("handler"), text=text), field="text")
    refused(order, ValidationFailed, lambda: s.work_order_reply(
        order_id=order.pk, actor=world.user("handler"), text="已办", attachment_ids=[123456]), field="attachment_ids[0]")


def test_a_late_reply_is_recorded_as_late(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        order = drive(world, Status.IN_PROGRESS)
        s.work_order_co_reply(order_id=order.pk, actor=world.user("water_handler"), text="已配合")
        clock.set(at(2025, 3, 10, 9, 1))
        s.work_order_reply(order_id=order.pk, actor=world.user("handler"), text="已办结")
    assert events_of(order)[-1].data["on_time"] is False


def test_resolve_on_call_makes_the_centre_the_lead(world):
    order = create(world)
    refused(order, ValidationFailed, lambda: s.work_order_resolve_on_call(
        order_id=order.pk, actor=world.user("operator"), text=""), field="text")
    refused(order, PermissionDenied, lambda: s.work_order_resolve_on_call(
        order_id=order.pk, actor=world.user("supervisor"), text="答复"))
    s.work_order_resolve_on_call(order_id=order.pk, actor=world.user("operator"), text="已按政策答复", knowledge_article_id=7)
    order.refresh_from_db()
    assert (order.status, order.lead_department, order.reply_text) == (Status.REPLIED, world.centre, "已按政策答复")
    assert events_of(order)[-1].data == {"knowledge_article_id": 7}
    s.work_order_callback(order_id=order.pk, actor=world.user("operator"), satisfaction="basically_satisfied")


# --- callback -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("satisfaction", "cause", "field"), [
    ("satisfied", "not_solved", "cause"),
    ("basically_satisfied", "other", "cause"),
    ("unsatisfied", None, "cause"),
    ("unsatisfied", "", "cause"),
    ("unsatisfied", "bad_weather", "cause"),
    ("happy", None, "satisfaction"),
    ("", None, "satisfaction"),
])
def test_callback_validation(world, satisfaction, cause, field):
    order = drive(world, Status.REPLIED)
    refused(order, ValidationFailed, lambda: s.work_order_callback(
        order_id=order.pk, actor=world.user("operator"), satisfaction=satisfaction, cause=cause), field=field)


@pytest.mark.parametrize(("satisfaction", "cause"), [("satisfied", None), ("basically_satisfied", ""),
                                                     ("unsatisfied", "policy_limit"), ("unsatisfied", "not_solved")])
def test_callback_closes(world, satisfaction, cause):
    order = drive(world, Status.REPLIED)
    s.work_order_callback(order_id=order.pk, actor=world.user("dispatcher"), satisfaction=satisfaction, cause=cause)
    order.refresh_from_db()
    assert order.status == Status.CLOSED and order.closed_at and order.callback_at
    assert (order.satisfaction, order.unsatisfied_cause) == (satisfaction, cause or "")
    assert events_of(order)[-1].data == {"satisfaction": satisfaction, "cause": cause or ""}


# --- redo ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cause", ["policy_limit", "unreasonable", "other"])
def test_redo_only_for_causes_the_department_controls(world, cause):
    order = drive(world, Status.REPLIED)
    refused(order, ValidationFailed, lambda: s.work_order_redo(
        order_id=order.pk, actor=world.user("operator"), cause=cause, note="市民仍不满意"), field="cause")


def test_redo_needs_a_note(world):
    order = drive(world, Status.REPLIED)
    refused(order, ValidationFailed, lambda: s.work_order_redo(
        order_id=order.pk, actor=world.user("operator"), cause="not_solved", note=""), field="note")
    refused(order, ValidationFailed, lambda: s.work_order_redo(
        order_id=order.pk, actor=world.user("operator"), cause="", note="说明"), field="cause")


def test_redo_closes_the_original_and_dispatches_a_linked_order_with_fresh_clocks(world):
    with time_travel(at(2025, 3, 3, 9, 0)) as clock:
        original = drive(world, Status.REPLIED)
        clock.set(at(2025, 3, 12, 10, 0))  # a Wednesday, long after the original's deadlines
        redo = s.work_order_redo(order_id=original.pk, actor=world.user("operator"), cause="no_contact",
                                 note="承办单位未联系市民")
    original.refresh_from_db()
    redo.refresh_from_db()
    assert original.status == Status.CLOSED
    assert (original.satisfaction, original.unsatisfied_cause) == ("unsatisfied", "no_contact")
    assert original.closed_at == at(2025, 3, 12, 10, 0)
    last = events_of(original)[-1]
    assert last.action == Action.REDO and last.data["redo_order_id"] == redo.pk

    assert redo.pk != original.pk and redo.redo_of == original
    assert redo.number != original.number and redo.number.startswith("20250312")
    assert redo.status == Status.DISPATCHED and redo.lead_department == world.housing
    assert (redo.content, redo.category_id, redo.area_id, redo.citizen_phone) == (
        original.content, original.category_id, original.area_id, original.citizen_phone)
    assert redo.dispatched_at == at(2025, 3, 12, 10, 0)
    assert redo.sign_due_at == at(2025, 3, 12, 12, 0)  # 2 working hours from the redo
    assert redo.due_at == at(2025, 3, 19, 10, 0)  # 5 working days from the redo
    assert redo.satisfaction == "" and redo.replied_at is None and redo.signed_at is None
    active = {(a.department_id, a.role) for a in WorkOrderAssignment.objects.filter(order=redo, active=True)}
    assert active == {(world.housing.pk, "lead"), (world.water.pk, "co")}
    assert [(e.action, e.from_status, e.to_status) for e in events_of(redo)] == [
        (Action.ACCEPT, "", Status.ACCEPTED), (Action.DISPATCH, Status.ACCEPTED, Status.DISPATCHED)]
    # The redo runs the normal loop.
    s.work_order_sign(order_id=redo.pk, actor=world.user("handler"))


def test_redo_of_an_order_answered_on_the_call_goes_back_to_the_centre(world):
    order = create(world)
    s.work_order_resolve_on_call(order_id=order.pk, actor=world.user("operator"), text="已答复")
    redo = s.work_order_redo(order_id=order.pk, actor=world.user("operator"), cause="not_solved", note="未解决")
    assert redo.lead_department == world.centre


# --- merge, withdraw, invalid, transfer ---------------------------------------------------------------

def test_merge_writes_events_on_both_orders(world):
    original = create(world, content="原工单")
    duplicate = drive(world, Status.DISPATCHED)
    before = original.version
    s.work_order_merge(order_id=duplicate.pk, actor=world.user("operator"), into_id=original.pk, note="同一事项")
    duplicate.refresh_from_db()
    original.refresh_from_db()
    assert duplicate.status == Status.MERGED and duplicate.merged_into == original
    assert not WorkOrderAssignment.objects.filter(order=duplicate, active=True).exists()
    assert original.status == Status.ACCEPTED and original.version == before + 1
    dup_event, orig_event = events_of(duplicate)[-1], events_of(original)[-1]
    assert dup_event.action == orig_event.action == Action.MERGE
    assert dup_event.data == {"into_id": original.pk, "into_number": original.number}
    assert orig_event.data == {"merged_from_id": duplicate.pk, "merged_from_number": duplicate.number}
    assert (orig_event.from_status, orig_event.to_status) == (Status.ACCEPTED, Status.ACCEPTED)


def test_merge_into_itself_or_into_a_dead_order_is_refused(world):
    order = create(world)
    refused(order, ValidationFailed, lambda: s.work_order_merge(
        order_id=order.pk, actor=world.user("operator"), into_id=order.pk), field="into_id")
    for status in (Status.INVALID, Status.MERGED, Status.WITHDRAWN, Status.TRANSFERRED):
        dead = drive(world, status)
        before_dead = snapshot(dead)
        refused(order, ValidationFailed, lambda dead=dead: s.work_order_merge(
            order_id=order.pk, actor=world.user("operator"), into_id=dead.pk), field="into_id")
        assert snapshot(dead) == before_dead
    refused(order, ValidationFailed, lambda: s.work_order_merge(
        order_id=order.pk, actor=world.user("operator"), into_id=999999), field="into_id")
    refused(order, ValidationFailed, lambda: s.work_order_merge(
        order_id=order.pk, actor=world.user("operator"), into_id="abc"), field="into_id")
    # An original outside the actor's area is as good as missing.
    other = create(world, actor="dispatcher_b", **POINT_B)
    mine = create(world, actor="dispatcher_b", **POINT_B)
    refused(mine, ValidationFailed, lambda: s.work_order_merge(
        order_id=mine.pk, actor=world.user("dispatcher_b"), into_id=order.pk), field="into_id")
    s.work_order_merge(order_id=mine.pk, actor=world.user("dispatcher_b"), into_id=other.pk)


def test_merge_into_a_closed_original_is_allowed(world):
    closed = drive(world, Status.CLOSED)
    order = create(world)
    s.work_order_merge(order_id=order.pk, actor=world.user("operator"), into_id=closed.pk, note="已办结事项再次来电")
    order.refresh_from_db()
    assert order.merged_into == closed


@pytest.mark.parametrize(("service", "status", "username"), [
    (s.work_order_withdraw, Status.WITHDRAWN, "operator"),
    (s.work_order_mark_invalid, Status.INVALID, "dispatcher"),
    (s.work_order_transfer_police, Status.TRANSFERRED, "operator"),
])
def test_set_aside_needs_a_reason_and_ends_the_order(world, service, status, username):
    order = create(world)
    refused(order, ValidationFailed, lambda: service(order_id=order.pk, actor=world.user(username), note=""),
            field="note")
    service(order_id=order.pk, actor=world.user(username), note="说明")
    order.refresh_from_db()
    assert order.status == status and order.closed_at is not None


def test_withdraw_while_in_progress_releases_the_departments(world):
    order = drive(world, Status.IN_PROGRESS)
    s.work_order_withdraw(order_id=order.pk, actor=world.user("operator"), note="市民已自行解决")
    assert not WorkOrderAssignment.objects.filter(order=order, active=True).exists()
    assert WorkOrder.objects.get(pk=order.pk).status == Status.WITHDRAWN
