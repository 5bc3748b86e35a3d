"""The pages: residents' own points, mall, priority code, appeals, volunteering; the staff pages and
their scoping (another area's records are 404; roles without points duties get 404)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tongxin.core.models import AuditEvent
from tongxin.points import services
from tongxin.points.choices import PointsAudit, RedemptionStatus, SignupStatus
from tongxin.points.models import Item, Redemption, Signup
from tongxin.points.selectors import balances_of
from tongxin.testing import PASSWORD

from .conftest import sign_in_resident

pytestmark = pytest.mark.django_db


def login(client, username):
    assert client.login(username=username, password=PASSWORD)


def earn(resident, n):
    for i in range(n):
        services.points_earn(resident=resident, rule_code="report_confirmed", cause_key=f"p:{resident.pk}:{i}")


def test_resident_pages_need_the_household_session(client, town):
    assert client.get("/r/points/").status_code == 401
    sign_in_resident(client, town.resident)
    page = client.get("/r/points/")
    assert page.status_code == 200 and "我的积分" in page.content.decode()


def test_redeem_and_cancel_through_the_pages(client, town):
    earn(town.resident, 4)
    item = services.item_create(actor=town.supervisor_a, area=town.world.community_a, name="米", price=15, stock=3)
    sign_in_resident(client, town.resident)
    assert "米" in client.get("/r/points/mall/").content.decode()
    response = client.post(f"/r/points/mall/{item.pk}/redeem/")
    redemption = Redemption.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/r/points/redemptions/{redemption.pk}/"
    body = client.get(response["Location"]).content.decode()
    assert redemption.pickup_code[:4] in body and "<svg" in body
    assert balances_of(town.resident).material == 5
    client.post(f"/r/points/redemptions/{redemption.pk}/cancel/")
    redemption.refresh_from_db()
    assert redemption.status == RedemptionStatus.CANCELLED and balances_of(town.resident).material == 20
    assert Item.objects.get(pk=item.pk).stock == 3


def test_another_households_redemption_is_404(client, town):
    earn(town.resident, 4)
    item = services.item_create(actor=town.supervisor_a, area=town.world.community_a, name="米", price=15, stock=3)
    redemption = services.redemption_create(resident=town.resident, item_id=item.pk)
    sign_in_resident(client, town.neighbour)
    assert client.get(f"/r/points/redemptions/{redemption.pk}/").status_code == 404
    assert client.post(f"/r/points/redemptions/{redemption.pk}/cancel/").status_code == 404
    assert Redemption.objects.get().status == RedemptionStatus.PENDING


def test_not_enough_points_says_so(client, town):
    item = services.item_create(actor=town.supervisor_a, area=town.world.community_a, name="米", price=15, stock=3)
    sign_in_resident(client, town.resident)
    response = client.post(f"/r/points/mall/{item.pk}/redeem/", follow=True)
    assert "积分不足" in response.content.decode()
    assert not Redemption.objects.exists()


def test_priority_card_and_clerk_check(client, town):
    for n in range(30):
        services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key=f"b:{n}")  # virtue 60
    sign_in_resident(client, town.resident)
    card = client.get("/r/points/card/").content.decode()
    assert "文明居民" in card
    token = services.priority_token_make(resident=town.resident)
    assert token.split("-")[0] in card
    client.cookies.clear()
    login(client, "clerk")
    body = client.post("/points/check/", {"token": token}).content.decode()
    assert "文明居民" in body and "服务大厅优先叫号" in body
    assert "王" not in body and "13900001111" not in body and "139****1111" not in body
    event = AuditEvent.objects.get(event_type=PointsAudit.PRIORITY_CHECK)
    assert event.actor == town.clerk and event.object_id == str(town.resident.pk)


def test_clerk_of_another_district_and_expired_codes_see_nothing(client, town):
    token = services.priority_token_make(resident=town.resident)
    login(client, "clerk_b")
    body = client.post("/points/check/", {"token": token}).content.decode()
    assert "无效或已过期" in body
    client.logout()
    login(client, "clerk")
    old = services.priority_token_make(resident=town.resident, at=timezone.now() - timedelta(minutes=6))
    assert "无效或已过期" in client.post("/points/check/", {"token": old}).content.decode()
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert "无效或已过期" in client.post("/points/check/", {"token": forged}).content.decode()
    assert not AuditEvent.objects.filter(event_type=PointsAudit.PRIORITY_CHECK).exists()


def test_check_page_refuses_non_clerks(client, town):
    login(client, "handler")
    assert client.get("/points/check/").status_code == 404
    assert client.get("/points/").status_code == 404
    assert client.get("/points/pickup/").status_code == 404


def test_pickup_desk_scoped(client, town):
    earn(town.resident, 4)
    item = services.item_create(actor=town.supervisor_a, area=town.world.community_a, name="米", price=15, stock=3)
    redemption = services.redemption_create(resident=town.resident, item_id=item.pk)
    login(client, "leader_b")
    assert client.post("/points/pickup/", {"pickup_code": redemption.pickup_code}).status_code == 404
    client.logout()
    login(client, "supervisor_a")
    body = client.post("/points/pickup/", {"pickup_code": redemption.pickup_code}).content.decode()
    assert "请交付" in body
    redemption.refresh_from_db()
    assert redemption.status == RedemptionStatus.PICKED_UP


def test_appeal_through_the_pages(client, town):
    for n in range(10):
        services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key=f"b:{n}")
    entry = services.points_award_by_staff(actor=town.world.user("grid_worker"), resident=town.resident,
                                           rule_code="uncivil_act", cause_label="乱停车")
    sign_in_resident(client, town.neighbour)
    assert client.get(f"/r/points/appeal/{entry.pk}/").status_code == 404
    sign_in_resident(client, town.resident)
    empty = client.post(f"/r/points/appeal/{entry.pk}/", {"reason": ""}).content.decode()
    assert "申诉理由不能为空" in empty
    assert client.post(f"/r/points/appeal/{entry.pk}/", {"reason": "不是我的车"}).status_code == 302
    client.cookies.clear()
    login(client, "leader_b")
    assert "不是我的车" not in client.get("/points/").content.decode()
    appeal = entry.appeal
    assert client.post(f"/points/appeals/{appeal.pk}/decide/", {"note": "x", "decision": "reverse"}).status_code == 404
    client.logout()
    login(client, "grid_worker")
    assert "不是我的车" in client.get("/points/").content.decode()
    client.post(f"/points/appeals/{appeal.pk}/decide/", {"note": "核实误记", "decision": "reverse"})
    assert balances_of(town.resident).virtue == 20


def test_staff_award_form_and_committee(client, town):
    login(client, "grid_worker")
    page = client.get("/points/award/").content.decode()
    assert "王*" in page and "王小明" not in page
    key = "abc123"
    data = {"resident": town.resident.pk, "rule_code": "commendation", "cause_label": "", "cause_key": key}
    assert "事由" in client.post("/points/award/", data).content.decode()  # the empty cause is refused
    data["cause_label"] = "扶老人过马路"
    client.post("/points/award/", data)
    client.post("/points/award/", data)  # a double submit pays once
    assert balances_of(town.resident).virtue == 50
    far = {"resident": town.far_resident.pk, "rule_code": "commendation", "cause_label": "x", "cause_key": "k2"}
    body = client.post("/points/award/", far).content.decode()  # not in the choices: the form refuses it
    assert balances_of(town.far_resident).virtue == 0 and "选择" in body


def test_volunteering_pages(client, town):
    now = timezone.now()
    activity = services.activity_create(actor=town.supervisor_a, area=town.world.community_a, title="植树",
                                        location="河畔公园", lat=37.1, lng=107.1, radius_m=200, capacity=5,
                                        starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=2))
    sign_in_resident(client, town.resident)
    assert "植树" in client.get("/r/points/volunteer/").content.decode()
    client.post(f"/r/points/volunteer/{activity.pk}/signup/")
    token = services.activity_token(activity)
    assert client.get(f"/r/points/v/{token[:-1]}x/").status_code == 404
    far = client.post(f"/r/points/v/{token}/", {"lat": "37.2", "lng": "107.1"})
    assert far.status_code == 422 and "米内签到" in far.content.decode()
    client.post(f"/r/points/v/{token}/", {"lat": "37.1005", "lng": "107.1"})
    signup = Signup.objects.get()
    assert signup.status == SignupStatus.CHECKED_IN and 50 < signup.checked_in_distance_m < 60
    client.post(f"/r/points/v/{token}/", {"lat": "37.1", "lng": "107.1"})
    Signup.objects.filter(pk=signup.pk).update(checked_in_at=now - timedelta(hours=2))
    client.cookies.clear()
    login(client, "leader_b")
    assert client.get(f"/points/activities/{activity.pk}/").status_code == 404
    client.logout()
    login(client, "supervisor_a")
    page = client.get(f"/points/activities/{activity.pk}/").content.decode()
    assert "王*" in page and "<svg" in page
    bad = client.post(f"/points/activities/{activity.pk}/signups/{signup.pk}/confirm/", {"hours": "9"}, follow=True)
    assert "不能超过" in bad.content.decode()
    client.post(f"/points/activities/{activity.pk}/signups/{signup.pk}/confirm/", {"hours": "2"})
    signup.refresh_from_db()
    assert signup.status == SignupStatus.CONFIRMED and balances_of(town.resident).virtue == 20


def test_signup_capacity_and_cancel(client, town):
    now = timezone.now()
    activity = services.activity_create(actor=town.supervisor_a, area=town.world.community_a, title="义诊",
                                        location="服务站", lat=37.1, lng=107.1, capacity=1,
                                        starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    services.signup_create(resident=town.resident, activity=activity)
    sign_in_resident(client, town.neighbour)
    full = client.post(f"/r/points/volunteer/{activity.pk}/signup/", follow=True).content.decode()
    assert "名额已满" in full
    sign_in_resident(client, town.resident)
    client.post(f"/r/points/volunteer/{activity.pk}/cancel/")
    sign_in_resident(client, town.neighbour)
    client.post(f"/r/points/volunteer/{activity.pk}/signup/")
    assert Signup.objects.get(resident=town.neighbour).status == SignupStatus.SIGNED_UP
    sign_in_resident(client, town.far_resident)  # another district: the activity is not theirs
    assert client.post(f"/r/points/volunteer/{activity.pk}/signup/").status_code == 404


def test_activity_validation_names_fields(town):
    from tongxin.core.errors import ValidationFailed

    now = timezone.now()
    with pytest.raises(ValidationFailed) as error:
        services.activity_create(actor=town.supervisor_a, area=town.world.community_a, title="", location="x",
                                 lat=91, lng=107, capacity=0, starts_at=now, ends_at=now - timedelta(hours=1))
    assert "title" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        services.activity_create(actor=town.supervisor_a, area=town.world.community_a, title="t", location="x",
                                 lat=91, lng=107, capacity=0, starts_at=now, ends_at=now - timedelta(hours=1))
    assert {"lat", "capacity", "ends_at"} <= set(error.value.fields)


def test_priority_code_reads_alike_letters_and_digits(client, town):
    from tongxin.points.services import _priority_parse

    token = services.priority_token_make(resident=town.resident)
    assert _priority_parse(token) == town.resident.pk
    typed = token.lower().replace("0", "o").replace("1", "l")
    assert _priority_parse(typed) == town.resident.pk
    assert _priority_parse(token[:-1] + ("X" if token[-1] != "X" else "Y")) is None
    assert _priority_parse("1-2-3") is None and _priority_parse("") is None
