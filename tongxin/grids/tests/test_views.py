"""The pages through the Django test client: they render, post to the services, and answer 404 outside
the actor's grids."""

from __future__ import annotations

import pytest

from tongxin.grids import services
from tongxin.grids.choices import ReportStatus
from tongxin.grids.models import FieldReport, Opinion, Patrol
from tongxin.testing import PASSWORD
from tongxin.workorders.models import WorkOrder

from .conftest import jpeg


@pytest.fixture
def as_user(client, gw):
    def _as(name):
        client.logout()
        assert client.login(username=name, password=PASSWORD)
        return client
    return _as


def test_worker_flow_through_the_pages(gw, as_user):
    c = as_user("grid_worker")
    page = c.get("/grid/")
    assert page.status_code == 200 and "开始巡查" in page.content.decode() and "/grid/info/" in page.content.decode()
    r = c.post("/grid/patrols/start/", {"grid_id": gw.w.grid_a.pk, "lat": "37.1", "lng": "107.1", "datum": "wgs84"})
    patrol = Patrol.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/grid/patrols/{patrol.pk}/"
    assert c.post(f"/grid/patrols/{patrol.pk}/checkin/", {"lat": "37.12", "lng": "107.12", "accuracy": "8"}).status_code == 302
    assert patrol.checkins.count() == 2
    body = c.get(f"/grid/patrols/{patrol.pk}/").content.decode()
    assert "g-map-data" in body and "37.12" in body and "打卡" in body
    # the report form: one grid, so no choice; errors are named in Chinese
    bad = c.post("/grid/reports/new/", {"text": ""})
    assert bad.status_code == 422 and "请拍摄或选择一张现场照片" in bad.content.decode() and "事件描述不能为空" in bad.content.decode()
    r = c.post("/grid/reports/new/", {"text": "垃圾满溢", "photo": jpeg(), "lat": "37.11", "lng": "107.11"})
    report = FieldReport.objects.get()
    assert r.status_code == 302 and report.patrol == patrol
    assert c.get(f"/grid/reports/{report.pk}/photo/photo/")["Content-Type"] == "image/jpeg"
    bad = c.post(f"/grid/reports/{report.pk}/settle/", {"result_text": "已清运"})
    assert bad.status_code == 422 and "请拍摄处置后的照片" in bad.content.decode()
    c.post(f"/grid/reports/{report.pk}/settle/", {"result_text": "已清运", "result_photo": jpeg()})
    report.refresh_from_db()
    assert report.status == ReportStatus.SETTLED
    r = c.post("/grid/reports/new/", {"text": "路面塌陷，需要市政维修", "photo": jpeg()})
    second = FieldReport.objects.exclude(pk=report.pk).get()
    c.post(f"/grid/reports/{second.pk}/raise/", {"kind": "help", "category_code": gw.w.category_leaf.code})
    second.refresh_from_db()
    assert second.status == ReportStatus.RAISED and WorkOrder.objects.get().channel == "grid"
    assert second.work_order_number in c.get(f"/grid/reports/{second.pk}/").content.decode()
    r = c.post(f"/grid/patrols/{patrol.pk}/end/", {"note": "正常"})
    patrol.refresh_from_db()
    assert patrol.ended_at is not None
    r = c.post("/grid/opinions/new/", {"grid_id": gw.w.grid_a.pk, "topic_code": "environment", "text": "希望多设垃圾桶"})
    assert r.status_code == 302 and Opinion.objects.count() == 1
    assert c.get(f"/grid/g/{gw.w.grid_a.pk}/").status_code == 200
    assert c.get("/grid/reports/?status=settled").status_code == 200
    assert c.get("/grid/patrols/").status_code == 200


def test_other_town_gets_404(gw, as_user):
    worker = gw.user("grid_worker")
    patrol = services.patrol_start(actor=worker, grid_id=gw.w.grid_a.pk)
    report = services.field_report_create(actor=worker, text="甲", photo=jpeg())
    c = as_user("grid_worker_b")
    for url in (f"/grid/patrols/{patrol.pk}/", f"/grid/reports/{report.pk}/", f"/grid/reports/{report.pk}/photo/photo/",
                f"/grid/g/{gw.w.grid_a.pk}/"):
        assert c.get(url).status_code == 404, url
    for url, data in ((f"/grid/patrols/{patrol.pk}/checkin/", {"lat": "37.1", "lng": "107.1"}),
                      (f"/grid/patrols/{patrol.pk}/end/", {}),
                      (f"/grid/reports/{report.pk}/settle/", {"result_text": "x", "result_photo": jpeg()}),
                      (f"/grid/reports/{report.pk}/raise/", {"kind": "help"})):
        assert c.post(url, data).status_code == 404, url
    assert Patrol.objects.get().ended_at is None and FieldReport.objects.get().status == ReportStatus.OPEN
    c = as_user("dispatcher")
    assert c.get("/grid/").status_code == 404
    assert c.get("/grid/opinions/").status_code == 404


def test_leader_reads_opinions_of_their_subtree(gw, as_user):
    services.opinion_create(actor=gw.user("grid_worker"), grid_id=gw.w.grid_a.pk, topic_code="security", text="甲地照明")
    services.opinion_create(actor=gw.user("grid_worker_b"), grid_id=gw.grid_b.pk, topic_code="property", text="乙地物业")
    c = as_user("leader")
    assert c.get("/grid/").status_code == 302  # a leader lands on the opinions
    body = c.get("/grid/opinions/").content.decode()
    assert "甲地照明" in body and "乙地物业" in body
    body = c.get("/grid/opinions/", {"area": gw.w.district_b.code}).content.decode()
    assert "甲地照明" not in body and "乙地物业" in body
    body = c.get("/grid/opinions/", {"q": "照明", "topic": "security"}).content.decode()
    assert "甲地照明" in body and "乙地物业" not in body
    body = as_user("leader_b").get("/grid/opinions/").content.decode()
    assert "甲地照明" not in body and "乙地物业" in body
    # a leader reads a patrol in the subtree but cannot act on it
    patrol = services.patrol_start(actor=gw.user("grid_worker"), grid_id=gw.w.grid_a.pk)
    page = as_user("leader").get(f"/grid/patrols/{patrol.pk}/")
    assert page.status_code == 200 and "结束巡查" not in page.content.decode()
    assert as_user("leader_b").get(f"/grid/patrols/{patrol.pk}/").status_code == 404


def test_list_pages_query_counts_do_not_grow(gw, as_user, django_assert_max_num_queries):
    worker = gw.user("grid_worker")
    for n in range(8):
        report = services.field_report_create(actor=worker, grid_id=gw.w.grid_a.pk, text=f"事件{n}", photo=jpeg())
        if n % 2:
            services.field_report_settle(actor=worker, report_id=report.pk, result_text="已处理", result_photo=jpeg())
        services.opinion_create(actor=worker, grid_id=gw.w.grid_a.pk, topic_code="other", text=f"民意{n}")
        patrol = services.patrol_start(actor=worker, grid_id=gw.w.grid_a.pk, lat=37.1, lng=107.1)
        services.patrol_end(actor=worker, patrol_id=patrol.pk)
    c = as_user("grid_worker")
    for url, limit in (("/grid/", 20), ("/grid/reports/", 7), ("/grid/patrols/", 7), ("/grid/opinions/", 9)):
        with django_assert_max_num_queries(limit):  # measured: 20, 6, 6, 8 with eight rows each
            assert c.get(url).status_code == 200, url
    c = as_user("leader")
    with django_assert_max_num_queries(9):
        assert "民意7" in c.get("/grid/opinions/").content.decode()
