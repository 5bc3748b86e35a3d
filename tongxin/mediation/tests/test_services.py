"""The services, each through its real path: 首接首办 hand-overs, escalation one level at a time, triage,
joint handling, sessions, agreement with judicial confirmation, failure guidance, follow-ups and closing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tongxin.core.errors import Conflict, IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from tongxin.mediation import services
from tongxin.mediation.choices import Action, FailureGuidance, Level, SessionKind, Status
from tongxin.mediation.models import CaseEvent, Handover

from .conftest import new_case


def actions(case):
    return list(CaseEvent.objects.filter(case=case).order_by("at", "id").values_list("action", flat=True))


def test_intake_owned_by_receiver(mw):
    case = new_case(mw)
    assert case.number.startswith("TJ") and case.status == Status.RECEIVED
    assert case.owner_org == case.received_org == mw.community
    assert case.received_level == case.level == Level.COMMUNITY and case.max_depth == 3
    assert case.parties.count() == 2
    assert actions(case) == [Action.RECEIVE]


def test_intake_refuses_non_members_and_foreign_places(mw):
    with pytest.raises(PermissionDenied):
        new_case(mw, by="m_town")  # a town mediator cannot receive for the community committee
    with pytest.raises(ValidationFailed) as exc:
        new_case(mw, area_code=mw.w.town_b.code)
    assert "area_code" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        new_case(mw, parties=[])
    assert "parties" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        new_case(mw, parties=[{"name": "王五", "phone": "abc"}])
    assert "parties[0].phone" in exc.value.fields


def test_immediate_mediation_to_agreement(mw):
    case = new_case(mw)
    me = mw.user("m_comm")
    services.case_mediate(case_id=case.pk, actor=me)
    session = services.case_session_record(case_id=case.pk, actor=me, place="甲社区调解室", attendees="张三、李四",
                                           notes="释法说理", mediator_ids=[me.mediator_profiles.get().pk])
    assert session.mediators.count() == 1
    case = services.case_agree(case_id=case.pk, actor=me, text="李四赔偿张三 800 元")
    assert case.status == Status.AGREED and case.concluded_level == Level.COMMUNITY
    assert case.next_follow_up_at == case.agreed_at + timedelta(days=15)
    case = services.case_confirm(case_id=case.pk, actor=me, court="甲区人民法院", number="（2026）甲民特1号")
    assert case.judicial_confirmed_at is not None
    with pytest.raises(Conflict):
        services.case_confirm(case_id=case.pk, actor=me, court="甲区人民法院", number="again")
    assert actions(case) == [Action.RECEIVE, Action.MEDIATE, Action.SESSION, Action.AGREE, Action.CONFIRM]


def test_first_receiver_owns_until_handover_accepted(mw):
    case = new_case(mw)
    comm, town = mw.user("m_comm"), mw.user("m_town")
    with pytest.raises(PermissionDenied):
        services.case_mediate(case_id=case.pk, actor=town)  # not theirs: 首接首办
    handover = services.case_escalate(case_id=case.pk, actor=comm, to_org_id=mw.town.pk, reason="涉及多户，需街道协调")
    case.refresh_from_db()
    assert case.status == Status.HANDOVER and case.owner_org == mw.community  # still the receiver's
    with pytest.raises(PermissionDenied):
        services.case_handover_accept(case_id=case.pk, actor=comm)  # only the receiving side accepts
    case = services.case_handover_accept(case_id=case.pk, actor=town, note="接收")
    handover.refresh_from_db()
    assert handover.status == "accepted" and handover.reason == "涉及多户，需街道协调" and handover.decided_by == town
    assert case.owner_org == mw.town and case.level == Level.TOWN and case.max_depth == 2
    assert case.received_org == mw.community and case.received_level == Level.COMMUNITY
    with pytest.raises(PermissionDenied):
        services.case_session_record(case_id=case.pk, actor=comm, place="x", notes="y")


def test_rejected_handover_returns_to_previous_status(mw):
    case = new_case(mw)
    services.case_mediate(case_id=case.pk, actor=mw.user("m_comm"))
    services.case_escalate(case_id=case.pk, actor=mw.user("m_comm"), to_org_id=mw.town.pk, reason="r")
    with pytest.raises(ValidationFailed):
        services.case_handover_reject(case_id=case.pk, actor=mw.user("m_town"), note="")
    case = services.case_handover_reject(case_id=case.pk, actor=mw.user("m_town"), note="属社区职责，请继续调解")
    assert case.status == Status.MEDIATING and case.owner_org == mw.community
    assert Handover.objects.get(case=case).status == "rejected"


def test_escalation_one_level_at_a_time(mw):
    case = new_case(mw)
    comm = mw.user("m_comm")
    for skip in (mw.district, mw.city, mw.traffic):
        with pytest.raises(ValidationFailed) as exc:
            services.case_escalate(case_id=case.pk, actor=comm, to_org_id=skip.pk, reason="越级")
        assert "to_org_id" in exc.value.fields
    with pytest.raises(ValidationFailed):
        services.case_escalate(case_id=case.pk, actor=comm, to_org_id=mw.town_b.pk, reason="别处")
    services.case_escalate(case_id=case.pk, actor=comm, to_org_id=mw.town.pk, reason="上报")
    with pytest.raises(Conflict):  # one pending hand-over at a time
        services.case_escalate(case_id=case.pk, actor=comm, to_org_id=mw.town.pk, reason="again")
    services.case_handover_accept(case_id=case.pk, actor=mw.user("m_town"))
    services.case_escalate(case_id=case.pk, actor=mw.user("m_town"), to_org_id=mw.district.pk, reason="上报旗区")
    services.case_handover_accept(case_id=case.pk, actor=mw.user("m_district"))
    services.case_escalate(case_id=case.pk, actor=mw.user("m_district"), to_org_id=mw.city.pk, reason="上报市")
    case = services.case_handover_accept(case_id=case.pk, actor=mw.user("m_city"))
    assert case.level == Level.CITY and case.max_depth == 0
    with pytest.raises(ValidationFailed):
        services.case_escalate(case_id=case.pk, actor=mw.user("m_city"), to_org_id=mw.district.pk, reason="再上")
    escalations = [e.data["to_level"] for e in case.events.filter(action=Action.ESCALATE)]
    assert escalations == ["town", "district", "city"]


def test_triage_routes_to_professional_org_only_from_centres(mw):
    case = new_case(mw, org=mw.district, by="m_district", dispute_type="traffic")
    with pytest.raises(ValidationFailed):  # routing never goes up
        services.case_route(case_id=case.pk, actor=mw.user("m_district"), to_org_id=mw.city.pk, reason="r")
    services.case_route(case_id=case.pk, actor=mw.user("m_district"), to_org_id=mw.traffic.pk, reason="交通事故，分流专业调委会")
    case = services.case_handover_accept(case_id=case.pk, actor=mw.user("m_traffic"))
    assert case.owner_org == mw.traffic and case.level == Level.DISTRICT
    # A committee does not triage: it escalates.
    other = new_case(mw)
    with pytest.raises(PermissionDenied):
        services.case_route(case_id=other.pk, actor=mw.user("m_comm"), to_org_id=mw.town.pk, reason="r")


def test_joint_handling_with_case_leader(mw):
    case = new_case(mw, org=mw.town, by="m_town")
    town, leader = mw.user("m_town"), mw.user("leader")
    with pytest.raises(IllegalTransition):
        services.case_joint_start(case_id=case.pk, actor=town, leader_id=leader.pk)  # mediate first
    services.case_mediate(case_id=case.pk, actor=town)
    with pytest.raises(ValidationFailed) as exc:
        services.case_joint_start(case_id=case.pk, actor=town, leader_id=mw.user("operator").pk)
    assert "leader_id" in exc.value.fields
    case = services.case_joint_start(case_id=case.pk, actor=town, leader_id=leader.pk, note="多部门联调")
    assert case.status == Status.JOINT and case.case_leader == leader
    meeting = services.case_session_record(case_id=case.pk, actor=leader, kind=SessionKind.JOINT_MEETING,
                                           place="街道会议室", attendees="住建、司法所、派出所", notes="议定：先行垫付")
    assert meeting.recorded_by == leader
    with pytest.raises(ValidationFailed) as exc:  # a joint meeting names its attendees
        services.case_session_record(case_id=case.pk, actor=town, kind=SessionKind.JOINT_VISIT, place="现场", notes="n")
    assert "attendees" in exc.value.fields
    services.case_session_record(case_id=case.pk, actor=town, kind=SessionKind.JOINT_VISIT, place="现场",
                                 attendees="包案领导、调解员", notes="入户走访")
    case = services.case_agree(case_id=case.pk, actor=leader, text="协议")
    assert case.status == Status.AGREED and case.concluded_level == Level.TOWN


def test_failure_guidance_recorded(mw):
    case = new_case(mw)
    services.case_mediate(case_id=case.pk, actor=mw.user("m_comm"))
    with pytest.raises(ValidationFailed) as exc:
        services.case_fail(case_id=case.pk, actor=mw.user("m_comm"), guidance="court", note="n")
    assert "guidance" in exc.value.fields
    case = services.case_fail(case_id=case.pk, actor=mw.user("m_comm"), guidance=FailureGuidance.LITIGATION,
                              note="双方分歧大，引导诉讼")
    assert case.status == Status.FAILED and case.failure_guidance == "litigation" and case.concluded_at is not None
    with pytest.raises(IllegalTransition):
        services.case_mediate(case_id=case.pk, actor=mw.user("m_comm"))


def test_follow_ups_every_n_days_then_close(mw, settings):
    settings.TONGXIN_MEDIATION_FOLLOW_UPS_TO_CLOSE = 2
    case = new_case(mw)
    me = mw.user("m_comm")
    services.case_mediate(case_id=case.pk, actor=me)
    case = services.case_agree(case_id=case.pk, actor=me, text="协议", follow_up_days=10)
    assert case.next_follow_up_at == case.agreed_at + timedelta(days=10)
    with pytest.raises(ValidationFailed):
        services.case_close(case_id=case.pk, actor=me)
    first = services.case_follow_up(case_id=case.pk, actor=me, note="已履行一半")
    case.refresh_from_db()
    assert first.due_at == case.agreed_at + timedelta(days=10)
    assert case.next_follow_up_at == first.done_at + timedelta(days=10)
    with pytest.raises(ValidationFailed):
        services.case_close(case_id=case.pk, actor=me)  # needs two stable follow-ups here
    services.case_follow_up(case_id=case.pk, actor=me, note="有反复", stable=False)
    services.case_follow_up(case_id=case.pk, actor=me, note="已全部履行")
    case = services.case_close(case_id=case.pk, actor=me, note="稳定")
    assert case.status == Status.CLOSED and case.next_follow_up_at is None and case.closed_at is not None


def test_default_interval_is_configurable(mw, settings):
    settings.TONGXIN_MEDIATION_FOLLOW_UP_DAYS = 7
    case = new_case(mw)
    services.case_mediate(case_id=case.pk, actor=mw.user("m_comm"))
    case = services.case_agree(case_id=case.pk, actor=mw.user("m_comm"), text="协议")
    assert case.follow_up_days == 7


def test_version_and_jurisdiction(mw):
    case = new_case(mw)
    with pytest.raises(Conflict):
        services.case_mediate(case_id=case.pk, actor=mw.user("m_comm"), version=case.version + 1)
    with pytest.raises(NotFound):
        services.case_mediate(case_id=case.pk, actor=mw.user("m_town_b"))  # town B: outside, so 404
    with pytest.raises(NotFound):
        services.case_mediate(case_id=case.pk, actor=mw.user("dispatcher"))  # no mediation role at all


def test_withdraw_needs_a_reason(mw):
    case = new_case(mw)
    with pytest.raises(ValidationFailed):
        services.case_withdraw(case_id=case.pk, actor=mw.user("m_comm"), note=" ")
    case = services.case_withdraw(case_id=case.pk, actor=mw.user("m_comm"), note="申请人撤回")
    assert case.status == Status.WITHDRAWN and case.concluded_at is None


def test_session_cannot_be_in_the_future(mw):
    case = new_case(mw)
    services.case_mediate(case_id=case.pk, actor=mw.user("m_comm"))
    with pytest.raises(ValidationFailed) as exc:
        services.case_session_record(case_id=case.pk, actor=mw.user("m_comm"), place="p", notes="n",
                                     at=timezone.now() + timedelta(days=1))
    assert "at" in exc.value.fields


def test_signed_scan_is_checked_and_stored(mw, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    case = new_case(mw)
    me = mw.user("m_comm")
    services.case_mediate(case_id=case.pk, actor=me)
    with pytest.raises(ValidationFailed) as exc:
        services.case_agree(case_id=case.pk, actor=me, text="协议",
                            scan=SimpleUploadedFile("a.exe", b"MZ\x90\x00", content_type="image/png"))
    assert "scan" in exc.value.fields
    png = SimpleUploadedFile("协议.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, content_type="image/png")
    case = services.case_agree(case_id=case.pk, actor=me, text="协议", scan=png)
    assert case.agreement_scan.name.startswith("mediation/") and case.agreement_scan.size == 40


def test_handover_notifies_the_receiving_side(mw, django_capture_on_commit_callbacks):
    from tongxin.accounts.models import Notification

    case = new_case(mw)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_escalate(case_id=case.pk, actor=mw.user("m_comm"), to_org_id=mw.town.pk, reason="上报")
    note = Notification.objects.get()
    assert note.recipient == mw.user("m_town") and case.number in note.title and note.url == f"/mediation/{case.pk}/"


def test_session_lists_its_mediators_including_experts(mw):
    case = new_case(mw, dispute_type="traffic")
    services.case_mediate(case_id=case.pk, actor=mw.user("m_comm"))
    expert = mw.user("m_traffic").mediator_profiles.get()
    session = services.case_session_record(case_id=case.pk, actor=mw.user("m_comm"), place="p", notes="n",
                                           mediator_ids=[expert.pk])
    assert list(session.mediators.all()) == [expert]
    with pytest.raises(ValidationFailed) as exc:
        services.case_session_record(case_id=case.pk, actor=mw.user("m_comm"), place="p", notes="n", mediator_ids=[99999])
    assert "mediator_ids" in exc.value.fields


def test_reopen_after_an_unstable_follow_up(mw):
    from tongxin.mediation import selectors

    case = new_case(mw)
    me = mw.user("m_comm")
    services.case_mediate(case_id=case.pk, actor=me)
    services.case_agree(case_id=case.pk, actor=me, text="分期付款")
    assert selectors.mediation_numbers(actor=me)["concluded"] == 1
    services.case_follow_up(case_id=case.pk, actor=me, note="第二期未付", stable=False)
    with pytest.raises(ValidationFailed):
        services.case_close(case_id=case.pk, actor=me)
    with pytest.raises(ValidationFailed):
        services.case_reopen(case_id=case.pk, actor=me, note="")
    case = services.case_reopen(case_id=case.pk, actor=me, note="协议未履行，重新调解")
    assert case.status == Status.MEDIATING and case.concluded_at is None and case.next_follow_up_at is None
    assert selectors.mediation_numbers(actor=me)["concluded"] == 0  # out of the targets until concluded again
    case = services.case_fail(case_id=case.pk, actor=me, guidance="litigation", note="引导诉讼")
    assert case.concluded_at is not None and case.concluded_level == "community"
    reopen = case.events.get(action=Action.REOPEN)
    assert reopen.data["agreed_at"] is not None
