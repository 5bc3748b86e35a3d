"""A 12345 work order becomes a case, and a case raises a work order: both keep links and timelines."""

from __future__ import annotations

import pytest

from tongxin.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongxin.mediation import personal, services
from tongxin.mediation.choices import Action, Source, Status
from tongxin.mediation.models import CaseWorkOrderLink
from tongxin.workorders.models import WorkOrderEvent
from tongxin.workorders.services import work_order_create

from .conftest import new_case


def _order(mw):
    return work_order_create(actor=mw.user("operator"), channel="hotline", kind="complaint",
                             content="邻居装修占用公共通道，多次协商不成，双方争吵", area_code=mw.w.community_a.code,
                             citizen_name="王五", citizen_phone="13700001234")


def test_work_order_converts_into_case(mw):
    order = _order(mw)
    case = services.case_from_work_order(actor=mw.user("dispatcher"), order_id=order.pk, org_id=mw.community.pk,
                                         dispute_type="neighbourhood", note="属邻里纠纷")
    assert case.source == Source.HOTLINE and case.source_work_order == order and case.status == Status.RECEIVED
    assert case.owner_org == mw.community and case.area == mw.w.community_a
    party = case.parties.get()
    assert (party.name, personal.party_phone(party), party.phone_masked) == ("王五", "13700001234", "137****1234")
    assert CaseWorkOrderLink.objects.get(case=case).direction == "from_order"
    receive = case.events.get(action=Action.RECEIVE)
    assert receive.data["work_order"] == order.number
    comment = WorkOrderEvent.objects.filter(order=order, action="comment").get()
    assert case.number in comment.note and comment.data == {"source": "mediation"}
    with pytest.raises(Conflict):
        services.case_from_work_order(actor=mw.user("dispatcher"), order_id=order.pk, org_id=mw.community.pk,
                                      dispute_type="neighbourhood")


def test_conversion_reads_the_order_within_jurisdiction(mw):
    order = _order(mw)
    with pytest.raises(NotFound):  # district B's dispatcher cannot see a district A order
        services.case_from_work_order(actor=mw.user("dispatcher_b"), order_id=order.pk, org_id=mw.community.pk,
                                      dispute_type="neighbourhood")
    with pytest.raises(ValidationFailed) as exc:  # town B's centre does not cover community A
        services.case_from_work_order(actor=mw.user("dispatcher"), order_id=order.pk, org_id=mw.town_b.pk,
                                      dispute_type="neighbourhood")
    assert "org_id" in exc.value.fields


def test_conversion_needs_a_role_that_may_comment_on_the_order(mw):
    order = _order(mw)
    with pytest.raises(PermissionDenied):  # a mediator sees the order (area role) but cannot write to it
        services.case_from_work_order(actor=mw.user("m_comm"), order_id=order.pk, org_id=mw.community.pk,
                                      dispute_type="neighbourhood")
    assert not CaseWorkOrderLink.objects.exists()  # the whole conversion rolled back


def test_case_raises_a_work_order(mw):
    case = new_case(mw)
    me = mw.user("m_comm")
    # A mediator of the case's area raises the order itself (walk-in channel), no intake role needed.
    order = services.case_raise_work_order(case_id=case.pk, actor=me, content="请住建部门查看漏水管道")
    assert order.status == "accepted" and order.area_id == mw.w.community_a.pk and order.channel == "walk_in"
    accept = WorkOrderEvent.objects.get(order=order, action="accept")
    assert accept.actor_role == "mediator"
    assert case.number in accept.note
    link = CaseWorkOrderLink.objects.get(case=case)
    assert link.direction == "raised" and link.work_order == order
    event = case.events.get(action=Action.RAISE_WORK_ORDER)
    assert event.data["work_order"] == order.number


def test_the_order_page_links_to_its_case(mw, client):
    order = _order(mw)
    case = services.case_from_work_order(actor=mw.user("dispatcher"), order_id=order.pk, org_id=mw.community.pk,
                                         dispute_type="neighbourhood")
    client.force_login(mw.user("leader"))  # reads both the order and the case
    html = client.get(f"/orders/{order.pk}/").content.decode()
    assert case.number in html and f"/mediation/{case.pk}/" in html
    client.force_login(mw.user("dispatcher"))  # sees the order, but no mediation case: no link
    html = client.get(f"/orders/{order.pk}/").content.decode()
    assert order.number in html and f"/mediation/{case.pk}/" not in html  # (the timeline comment names it)
