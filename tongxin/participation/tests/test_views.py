"""The pages through Django's test client: the staff's list, form, topic page, open/close and the .xlsx
tally (scoped: 404 outside the jurisdiction), and the resident's list, ballot, receipt and results."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.http import HttpResponse
from django.utils import timezone
from openpyxl import load_workbook

from tongxin.core.models import AuditEvent
from tongxin.participation import services
from tongxin.participation.choices import Event, Status
from tongxin.participation.models import Participation, Topic
from tongxin.residents.choices import CodeKind
from tongxin.residents.services import LoginResult
from tongxin.residents.session import COOKIE, session_start
from tongxin.testing import PASSWORD

from .conftest import open_topic, option_id, property_input, topic_input

pytestmark = pytest.mark.django_db


def staff(client, username: str):
    assert client.login(username=username, password=PASSWORD)
    return client


def as_resident(client, resident):
    response = HttpResponse()
    session_start(response, LoginResult(kind=CodeKind.HOUSEHOLD, target_id=resident.household_id,
                                        resident_id=resident.pk, code_version=resident.household.code_version))
    client.cookies[COOKIE] = response.cookies[COOKIE].value
    return client


def _now():
    return timezone.localtime()


FORM = {
    "title": "健身器材选址", "body": "社区拟新增一组健身器材，请选择地点。", "kind": "livelihood", "matter": "",
    "scope_kind": "grid", "eligibility": "household", "choice_mode": "multiple", "max_choices": "2",
    "options": "东门广场\n3号楼北侧\n幼儿园旁", "opens_at": f"{_now():%Y-%m-%dT%H:%M}", "closes_at": f"{_now() + dt.timedelta(days=10):%Y-%m-%dT%H:%M}",
    "publication": "on_close",
}


def test_staff_create_open_close_export(client, world, estate):
    staff(client, "grid_worker")
    assert client.get("/participation/").status_code == 200
    assert client.get("/participation/new/").status_code == 200
    response = client.post("/participation/new/", {**FORM, "area_id": world.grid_a.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    topic = Topic.objects.get()
    assert topic.status == Status.DRAFT and topic.max_choices == 2
    page = client.get(f"/participation/{topic.pk}/").content.decode()
    assert "健身器材选址" in page and "发布" in page
    edit = client.post(f"/participation/{topic.pk}/edit/", {**FORM, "area_id": world.grid_a.pk, "title": "健身器材选址（修订）"})
    assert edit.status_code == 302
    client.post(f"/participation/{topic.pk}/open/")
    topic.refresh_from_db()
    assert topic.status == Status.OPEN and topic.electors_count == 5
    assert client.get(f"/participation/{topic.pk}/edit/").status_code == 404
    services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[0], option_ids=[option_id(topic, "东门广场")])
    client.post(f"/participation/{topic.pk}/close/")
    topic.refresh_from_db()
    assert topic.status == Status.CLOSED
    page = client.get(f"/participation/{topic.pk}/").content.decode()
    assert "已投票 1 / 有资格 5，参与率 20.00%" in page
    response = client.get(f"/participation/{topic.pk}/export.xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["计票结果", "记名投票明细"]
    assert ["东门广场", 1, "100.00%"] in [list(r) for r in wb["计票结果"].iter_rows(values_only=True)]
    detail = list(wb["记名投票明细"].iter_rows(values_only=True))
    assert detail[1][3] == "东门广场" and "13900" not in str(detail)
    assert AuditEvent.objects.filter(event_type=Event.TALLY_EXPORTED).count() == 1


def test_form_errors_are_shown_beside_the_field(client, world):
    staff(client, "grid_worker")
    response = client.post("/participation/new/", {**FORM, "area_id": world.grid_a.pk, "max_choices": "9"})
    assert response.status_code == 422
    assert "多选时最多可选项数应在 2 到 3 之间" in response.content.decode()
    response = client.post("/participation/new/", {**FORM, "area_id": world.grid_a.pk, "secret": "on",
                                                   "allow_change": "on"})
    assert "无记名投票不允许改票" in response.content.decode()
    assert not Topic.objects.exists()


def test_open_error_is_shown(client, world):
    staff(client, "admin")
    topic = services.topic_create(actor=world.user("admin"), data=topic_input(world, scope_kind="area",
                                                                              area_id=world.district_b.pk))
    response = client.post(f"/participation/{topic.pk}/open/", follow=True)
    assert "范围内没有符合投票资格的住户或居民" in response.content.decode()


def test_secret_export_has_counts_only(client, world, estate):
    topic = open_topic(world, topic_input(world, secret=True))
    services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[0], option_ids=[option_id(topic, "维持现状")])
    staff(client, "leader")
    response = client.get(f"/participation/{topic.pk}/export.xlsx")
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["计票结果"]
    text = str([list(r) for r in wb.active.iter_rows(values_only=True)])
    assert "业主" not in text and "3号楼" not in text


def test_scoping(client, world, estate):
    topic = open_topic(world, topic_input(world))
    for name in ("leader_b", "dispatcher", "handler"):
        client.logout()
        staff(client, name)
        for url in (f"/participation/{topic.pk}/", f"/participation/{topic.pk}/export.xlsx"):
            assert client.get(url).status_code == 404, (name, url)
        listing = client.get("/participation/")
        assert listing.status_code == (200 if name == "leader_b" else 404)
        assert topic.title not in listing.content.decode()
        assert client.post(f"/participation/{topic.pk}/close/").status_code == 404
    client.logout()
    staff(client, "leader")  # reads, but may not run it
    assert client.get(f"/participation/{topic.pk}/").status_code == 200
    assert client.get("/participation/new/").status_code == 404
    response = client.post(f"/participation/{topic.pk}/close/", follow=True)
    assert "您只能查看此议题，不能修改" in response.content.decode()
    assert Topic.objects.get(pk=topic.pk).status == Status.OPEN
    client.logout()
    assert client.get("/participation/").status_code == 302  # to the login page


def test_resident_votes_and_sees_the_receipt(client, world, estate):
    topic = open_topic(world, topic_input(world, choice_mode="multiple", max_choices=2, publication="live"))
    ids = list(topic.options.values_list("id", flat=True))
    as_resident(client, estate.owners[0])
    listing = client.get("/r/topics/").content.decode()
    assert topic.title in listing
    response = client.post(f"/r/topics/{topic.pk}/", {"options": ids})
    assert response.status_code == 422
    assert "本议题最多可选 2 项，您选了 3 项" in response.content.decode()
    response = client.post(f"/r/topics/{topic.pk}/", {"options": ids[:2]})
    assert response.status_code == 302 and response["Location"].startswith(f"/r/topics/{topic.pk}/?done=cast")
    page = client.get(response["Location"]).content.decode()
    assert "投票成功" in page and "方案一：地面划线、方案二：立体车库" in page
    assert "已投 1 / 5" in page  # live results
    again = client.post(f"/r/topics/{topic.pk}/", {"options": ids[2:]})
    assert again.status_code == 409 and "不允许改票" in again.content.decode()
    assert AuditEvent.objects.filter(event_type=Event.VOTE_CHANGE_REFUSED).count() == 1
    assert Participation.objects.filter(topic=topic).count() == 1
    # The tenant of the same household sees the household's receipt and cannot vote again.
    client.cookies.clear()
    as_resident(client, estate.tenant)
    page = client.get(f"/r/topics/{topic.pk}/").content.decode()
    assert "家庭其他成员（每户一票）" in page and 'id="ballot"' not in page


def test_resident_outside_the_scope_gets_404(client, world, estate):
    topic = open_topic(world, topic_input(world, scope_kind="building", area_id=None, building_id=estate.building.pk))
    as_resident(client, estate.other_owner)
    assert client.get(f"/r/topics/{topic.pk}/").status_code == 404
    assert client.post(f"/r/topics/{topic.pk}/", {"options": [topic.options.first().pk]}).status_code == 404
    assert topic.title not in client.get("/r/topics/").content.decode()
    client.cookies.clear()
    assert client.get("/r/topics/").status_code == 401


def test_secret_property_vote_from_the_phone(client, world, estate):
    topic = open_topic(world, property_input(estate, secret=True))
    as_resident(client, estate.owners[2])
    page = client.post(f"/r/topics/{topic.pk}/", {"options": [option_id(topic, "approve")]}, follow=True).content.decode()
    assert "投票成功" in page and "不保存您选了什么" in page and "同意" not in page.split('id="receipt"')[1].split("</section>")[0]
    page = client.get(f"/r/topics/{topic.pk}/").content.decode()
    assert "无记名投票，不保存选择" in page and "投票结果" not in page  # published on close only
    services.topic_close(actor=world.user("grid_worker"), topic_id=topic.pk)
    page = client.get(f"/r/topics/{topic.pk}/").content.decode()
    assert "表决未通过：参与表决的专有部分面积和业主人数未达到三分之二" in page
    client.cookies.clear()
    topic2 = open_topic(world, property_input(estate, title="选聘物业"))
    as_resident(client, estate.tenant)  # not an owner: sees the topic, gets no ballot
    page = client.get(f"/r/topics/{topic2.pk}/").content.decode()
    assert "只有登记为业主的家庭成员可以投票" in page and 'id="ballot"' not in page
    response = client.post(f"/r/topics/{topic2.pk}/", {"options": [option_id(topic2, "approve")]})
    assert response.status_code == 403 and "只能由登记为业主的居民表决" in response.content.decode()
