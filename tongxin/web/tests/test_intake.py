"""The operator's intake console (受理台), through Django's test client on the real database: who may
open it, saving with each button, a rejected form keeping what was typed, the assist panel (caller
history, duplicates, knowledge base, classification), the category search (pinyin initials), the area
picker, and the dispatch step's suggestion and one-click dispatch."""

from __future__ import annotations

import pytest

from tongxin.workorders import services as wo
from tongxin.workorders.choices import Action, Status
from tongxin.workorders.lookups import category_search, knowledge_search
from tongxin.workorders.models import KnowledgeArticle, WorkOrder, WorkOrderEvent

from .conftest import login

pytestmark = pytest.mark.django_db

CALL = {
    "citizen_phone": "13900001111", "citizen_name": "张三", "channel": "hotline", "kind": "help", "urgency": "normal",
    "title": "", "content": "甲社区门口垃圾堆积三天无人清理", "category_code": "C010101", "address": "甲社区东门",
    "area_code": "", "lat": "37.1", "lng": "107.1",
}


def test_only_intake_roles_open_the_console(client, world):
    for username, status in (("operator", 200), ("dispatcher", 200), ("supervisor", 200), ("admin", 200),
                             ("handler", 404), ("leader", 404), ("grid_worker", 404), ("nobody", 404)):
        login(client, username)
        assert client.get("/workbench/intake/").status_code == status, username
        assert client.post("/workbench/intake/", CALL).status_code in ((302,) if status == 200 else (404,)), username
    client.logout()
    assert client.get("/workbench/intake/").status_code == 302  # to the login page
    assert WorkOrder.objects.count() == 4  # one per intake role, none from the others


def test_save_creates_the_order_and_goes_to_dispatch(client, world):
    login(client, "operator")
    response = client.post("/workbench/intake/", {**CALL, "intent": "save"})
    order = WorkOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/workbench/intake/{order.pk}/dispatch/"
    assert order.status == Status.ACCEPTED and order.category == world.category_leaf
    assert order.area == world.grid_a  # located from the map point (WGS-84)
    assert order.citizen_phone == "13900001111" and order.channel == "hotline"
    assert list(order.events.values_list("action", flat=True)) == [Action.ACCEPT]


def test_a_rejected_form_keeps_what_was_typed_and_names_the_field(client, world):
    login(client, "operator")
    response = client.post("/workbench/intake/", {**CALL, "content": "", "citizen_phone": "12ab",
                                                  "title": "门口垃圾", "address": "甲社区东门"})
    html = response.content.decode()
    assert response.status_code == 422
    assert 'value="12ab"' in html and 'value="门口垃圾"' in html and 'value="甲社区东门"' in html
    assert "field-error" in html
    assert WorkOrder.objects.count() == 0
    response = client.post("/workbench/intake/", {**CALL, "category_code": "NOPE"})
    assert response.status_code == 422 and "分类 NOPE 不存在" in response.content.decode()
    assert "甲社区门口垃圾堆积三天无人清理" in response.content.decode()
    response = client.post("/workbench/intake/", {**CALL, "lat": "abc"})
    assert response.status_code == 422 and "纬度必须是数字" in response.content.decode()
    assert WorkOrder.objects.count() == 0


def test_resolve_on_call_with_a_knowledge_answer(client, world):
    article = KnowledgeArticle.objects.create(question="垃圾清理找哪个部门？", answer="请联系社区物业或拨打环卫热线。",
                                              keywords="垃圾,清理")
    login(client, "operator")
    missing = client.post("/workbench/intake/", {**CALL, "intent": "resolve"})
    assert missing.status_code == 422 and "直接办结需要填写答复内容" in missing.content.decode()
    assert WorkOrder.objects.count() == 0
    response = client.post("/workbench/intake/", {**CALL, "intent": "resolve", "resolve_text": article.answer,
                                                  "knowledge_article_id": str(article.pk)})
    assert response.status_code == 302 and response["Location"] == "/workbench/intake/"
    order = WorkOrder.objects.get()
    assert order.status == Status.REPLIED and order.reply_text == article.answer
    event = order.events.get(action=Action.RESOLVE_ON_CALL)
    assert event.data["knowledge_article_id"] == article.pk
    page = client.get("/workbench/intake/").content.decode()
    assert order.number in page  # the success message


def test_police_matters_are_recorded_and_transferred(client, world):
    login(client, "operator")
    assert client.post("/workbench/intake/", {**CALL, "intent": "police"}).status_code == 422
    response = client.post("/workbench/intake/", {**CALL, "intent": "police", "police_note": "有人打架，已告知拨打110"})
    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert order.status == Status.TRANSFERRED
    assert order.events.filter(action=Action.TRANSFER_POLICE).exists()


def test_merge_into_a_duplicate_in_one_click(client, world):
    original = wo.work_order_create(actor=world.user("operator"), channel="hotline", kind="help",
                                    content=CALL["content"], category_code="C010101", lat=37.1, lng=107.1, crs="wgs84",
                                    citizen_phone="13900002222")
    login(client, "operator")
    assist = client.post("/workbench/intake/assist/", {**CALL, "citizen_phone": "13900003333"}).content.decode()
    assert original.number in assist and f'data-merge-into="{original.pk}"' in assist
    assert "诉求内容相似" in assist
    response = client.post("/workbench/intake/", {**CALL, "intent": "merge", "merge_into": str(original.pk)})
    assert response.status_code == 302
    merged = WorkOrder.objects.exclude(pk=original.pk).get()
    assert merged.status == Status.MERGED and merged.merged_into_id == original.pk
    # A merge target outside the operator's reach or missing: rejected, nothing written.
    before = WorkOrder.objects.count()
    response = client.post("/workbench/intake/", {**CALL, "intent": "merge", "merge_into": "999999"})
    assert response.status_code == 422
    assert WorkOrder.objects.count() == before


def test_assist_shows_caller_history_masked(client, world):
    earlier = wo.work_order_create(actor=world.user("operator"), channel="hotline", kind="inquiry",
                                   content="去年问过的供暖问题", citizen_phone="13900001111", area_code="150603001")
    login(client, "operator")
    html = client.post("/workbench/intake/assist/", {"citizen_phone": "13900001111", "content": ""}).content.decode()
    assert earlier.number in html and "139****1111" in html and "13900001111" not in html
    # A district-B-only dispatcher sees the caller's district-B order; a district-A order stays hidden.
    hidden = wo.work_order_create(actor=world.user("operator"), channel="hotline", kind="inquiry",
                                  content="甲区的事", citizen_phone="13900001111", area_code="150602001")
    login(client, "dispatcher_b")
    html = client.post("/workbench/intake/assist/", {"citizen_phone": "13900001111"}).content.decode()
    assert earlier.number in html and hidden.number not in html
    login(client, "handler")
    assert client.post("/workbench/intake/assist/", {"citizen_phone": "13900001111"}).status_code == 404


def test_assist_says_when_no_classifier_is_trained(client, world, settings, tmp_path):
    settings.TONGXIN_CLASSIFIER_MODEL = ""
    settings.TONGXIN_CLASSIFIER_DIR = str(tmp_path)
    login(client, "operator")
    html = client.post("/workbench/intake/assist/", {"content": "小区门口垃圾没人清理"}).content.decode()
    assert "智能分类" in html and "classify-result" not in html


def test_category_search_by_text_initials_and_keywords(client, world):
    assert [h.code for h in category_search("ljql")] == ["C010101"]
    assert category_search("垃圾")[0].code == "C010101"
    assert category_search("ljql")[0].path_names == "城乡建设 / 市政管理 / 垃圾清理"
    assert category_search("") == [] and category_search("没有这种分类") == []
    login(client, "operator")
    html = client.get("/workbench/intake/categories/", {"category_q": "ljql"}).content.decode()
    assert 'data-category-code="C010101"' in html
    assert "没有匹配的分类" in client.get("/workbench/intake/categories/", {"category_q": "zzzz"}).content.decode()


def test_knowledge_search_ranks_by_shared_words(world):
    a = KnowledgeArticle.objects.create(question="供暖不热找谁？", answer="联系热力公司。", keywords="暖气,供热")
    b = KnowledgeArticle.objects.create(question="垃圾清理找哪个部门？", answer="联系环卫。", keywords="垃圾")
    KnowledgeArticle.objects.create(question="停用的条目", answer="x", active=False)
    hits = knowledge_search("我家暖气不热，供暖有问题")
    assert hits and hits[0].id == a.pk and all(h.id != b.pk for h in hits)
    assert knowledge_search("") == []


def test_area_picker_lists_children(client, world):
    login(client, "operator")
    html = client.get("/workbench/intake/areas/", {"parent": "150602", "level": "town"}).content.decode()
    assert "甲街道" in html and "乙街道" not in html
    assert "option" in client.get("/workbench/intake/areas/", {"parent": "nope"}).content.decode()


def test_dispatch_step_suggests_from_the_catalogue_and_dispatches(client, world):
    login(client, "operator")
    client.post("/workbench/intake/", {**CALL, "category_code": "C01"})
    order = WorkOrder.objects.get()
    page = client.get(f"/workbench/intake/{order.pk}/dispatch/")
    html = page.content.decode()
    assert page.status_code == 200 and "甲区住建局" in html and "派单目录" in html
    assert "139****1111" in html and "13900001111" not in html
    response = client.post(f"/workbench/intake/{order.pk}/dispatch/", {
        "lead_department_id": str(world.housing.pk), "co_department_ids": [str(world.water.pk)], "version": order.version})
    assert response.status_code == 302 and response["Location"] == "/workbench/intake/"
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED and order.lead_department == world.housing
    assert WorkOrderEvent.objects.filter(order=order, action=Action.DISPATCH).count() == 1
    # A second dispatch of the same order is refused with a clear message; nothing changes.
    again = client.post(f"/workbench/intake/{order.pk}/dispatch/", {"lead_department_id": str(world.education.pk),
                                                                    "version": order.version})
    assert again.status_code == 422
    order.refresh_from_db()
    assert order.lead_department == world.housing


def test_dispatch_step_is_scoped(client, world):
    order = wo.work_order_create(actor=world.user("operator"), channel="hotline", kind="help", content="甲区的事",
                                 category_code="C01", area_code="150602001")
    login(client, "dispatcher_b")
    assert client.get(f"/workbench/intake/{order.pk}/dispatch/").status_code == 404
    assert client.post(f"/workbench/intake/{order.pk}/dispatch/", {"lead_department_id": str(world.housing.pk)}).status_code == 404
    login(client, "handler")
    assert client.get(f"/workbench/intake/{order.pk}/dispatch/").status_code == 404
    login(client, "operator")
    assert client.get("/workbench/intake/999999/dispatch/").status_code == 404
