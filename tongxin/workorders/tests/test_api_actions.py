"""One POST per action, over HTTP: each moves the order as the transition table says, appends its event,
bumps the version and answers the updated detail; stale versions and illegal actions change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tongxin.testing import real_png
from tongxin.workorders.models import Attachment, ExtensionRequest, WorkOrder, WorkOrderEvent

from .test_api import (
    API,
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    assert_error,
    client_for,
    counts,
    order_in,
    post,
)

PNG = real_png()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def act(world, username, order, action, body=None, status=200):
    before = WorkOrderEvent.objects.filter(order=order).count()
    response = post(client_for(world, username), f"{API}/work-orders/{order.pk}/{action}", body or {})
    assert response.status_code == status, response.content
    data = response.json()
    if data["id"] == order.pk:
        assert data["version"] == order.version + 1
        assert WorkOrderEvent.objects.filter(order=order).count() == before + 1
        assert data["timeline"][-1]["action"] == action.replace("-", "_")
        assert data["timeline"][-1]["actor_label"] == username
    return data


@pytest.mark.django_db
def test_dispatch_takes_the_catalogue_suggestion_or_the_chosen_departments(world):
    order = order_in(world, "accepted")
    body = act(world, "dispatcher", order, "dispatch", {"version": order.version})
    assert body["status"] == "dispatched" and body["lead_department"]["code"] == "D-HOUSING-A"
    assert [(a["department"]["code"], a["role"]) for a in body["assignments"]] == [("D-HOUSING-A", "lead"), ("D-WATER", "co")]
    assert body["sign_due_at"] and body["due_at"]
    other = order_in(world, "accepted")
    body = act(world, "operator", other, "dispatch", {"lead_department_id": world.education.pk,
                                                      "co_department_ids": [world.water.pk], "note": "学校周边"})
    assert body["lead_department"]["code"] == "D-EDU-B"
    assert [a["department"]["code"] for a in body["assignments"]] == ["D-EDU-B", "D-WATER"]
    assert body["timeline"][-1]["note"] == "学校周边"


@pytest.mark.django_db
def test_sign_then_request_approve_and_deny_extensions(world):
    order = order_in(world, "dispatched")
    body = act(world, "handler", order, "sign")
    assert body["status"] == "in_progress" and body["signed_at"]
    order.refresh_from_db()
    wanted = (order.due_at + timedelta(days=2)).isoformat()
    body = act(world, "handler", order, "request-extension", {"requested_due_at": wanted, "reason": "需协调施工队"})
    assert body["pending_extension"]["reason"] == "需协调施工队"
    order.refresh_from_db()
    body = act(world, "dispatcher", order, "approve-extension", {"note": "同意"})
    assert body["pending_extension"] is None
    order.refresh_from_db()
    assert order.due_at == ExtensionRequest.objects.get(order=order).requested_due_at
    body = act(world, "handler", order, "request-extension",
               {"requested_due_at": (order.due_at + timedelta(days=1)).isoformat(), "reason": "仍需时间"})
    order.refresh_from_db()
    due = order.due_at
    body = act(world, "supervisor", order, "deny-extension", {"note": "请抓紧办理"})
    assert body["pending_extension"] is None
    order.refresh_from_db()
    assert order.due_at == due
    assert list(ExtensionRequest.objects.filter(order=order).order_by("id").values_list("status", flat=True)) == [
        "approved", "denied"]


@pytest.mark.django_db
def test_return_then_force_dispatch_and_reassign(world):
    order = order_in(world, "dispatched")
    body = act(world, "handler", order, "return", {"reason": "not_our_duty", "note": "应由市政公司处理"})
    assert body["status"] == "returned" and body["lead_department"] is None
    assert body["assignments"][0]["return_reason"] == "not_our_duty"
    order.refresh_from_db()
    body = act(world, "dispatcher", order, "force-dispatch", {"note": "属于住建职责，请办理"})
    assert body["status"] == "dispatched" and body["lead_department"]["code"] == "D-HOUSING-A"
    order.refresh_from_db()
    body = act(world, "supervisor", order, "reassign", {"lead_department_id": world.education.pk})
    assert body["status"] == "dispatched" and body["lead_department"]["code"] == "D-EDU-B"
    active = [(a["department"]["code"], a["role"]) for a in body["assignments"] if a["active"]]
    assert active == [("D-EDU-B", "lead")]


@pytest.mark.django_db
def test_remind_and_supervise_keep_the_status(world):
    order = order_in(world, "dispatched")
    assert act(world, "dispatcher", order, "remind", {"note": "请尽快签收"})["status"] == "dispatched"
    order.refresh_from_db()
    assert act(world, "supervisor", order, "supervise", {"note": "已超时，督办"})["status"] == "dispatched"


@pytest.mark.django_db
def test_co_reply_reply_with_attachment_and_callback(world):
    order = order_in(world, "in_progress")
    body = act(world, "water_handler", order, "co-reply", {"text": "管网已检修"})
    assert [a["replied_at"] is not None for a in body["assignments"] if a["role"] == "co"] == [True]
    upload = post_file(world, "handler", order, "done.png", PNG)
    assert upload.status_code == 201, upload.content
    attachment = upload.json()
    assert attachment["content_type"] == "image/png" and attachment["name"] == "done.png"
    assert attachment["url"].endswith(".png") and "done" not in attachment["url"]  # stored under a random name
    order.refresh_from_db()
    body = act(world, "handler", order, "reply", {"text": "已清理完毕", "attachment_ids": [attachment["id"]]})
    assert body["status"] == "replied" and body["reply_text"] == "已清理完毕"
    assert body["timeline"][-1]["data"]["attachment_ids"] == [attachment["id"]]
    assert [a["id"] for a in body["attachments"]] == [attachment["id"]]
    order.refresh_from_db()
    body = act(world, "operator", order, "callback", {"satisfaction": "basically_satisfied"})
    assert body["status"] == "closed" and body["satisfaction"] == "basically_satisfied"


@pytest.mark.django_db
def test_resolve_on_call_makes_the_centre_the_lead(world):
    order = order_in(world, "accepted")
    body = act(world, "operator", order, "resolve-on-call", {"text": "已按知识库答复办理流程"})
    assert body["status"] == "replied" and body["lead_department"]["code"] == "D-CENTRE"


@pytest.mark.django_db
def test_redo_answers_201_with_the_new_linked_order(world):
    order = order_in(world, "replied")
    response = post(client_for(world, "dispatcher"), f"{API}/work-orders/{order.pk}/redo",
                    {"cause": "not_solved", "note": "垃圾仍未清理", "version": order.version})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] != order.pk and body["status"] == "dispatched"
    assert body["links"]["redo_of"] == {"id": order.pk, "number": order.number, "status": "closed"}
    assert [e["action"] for e in body["timeline"]] == ["accept", "dispatch"]
    original = client_for(world, "dispatcher").get(f"{API}/work-orders/{order.pk}").json()
    assert original["status"] == "closed" and original["satisfaction"] == "unsatisfied"
    assert original["links"]["redos"] == [{"id": body["id"], "number": body["number"], "status": "dispatched"}]


@pytest.mark.django_db
def test_merge_links_both_orders(world):
    original = order_in(world, "dispatched")
    duplicate = order_in(world, "accepted")
    body = act(world, "operator", duplicate, "merge", {"into_id": original.pk, "note": "同一处垃圾"})
    assert body["status"] == "merged"
    assert body["links"]["merged_into"] == {"id": original.pk, "number": original.number, "status": "dispatched"}
    detail = client_for(world, "operator").get(f"{API}/work-orders/{original.pk}").json()
    assert detail["links"]["merged_orders"] == [{"id": duplicate.pk, "number": duplicate.number, "status": "merged"}]
    assert detail["version"] == original.version + 1  # the original records the merge too


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "username", "status"), [
    ("withdraw", "operator", "withdrawn"), ("mark-invalid", "dispatcher", "invalid"),
    ("transfer-police", "operator", "transferred"),
])
def test_setting_aside(world, action, username, status):
    order = order_in(world, "accepted")
    body = act(world, username, order, action, {"note": "来电人要求"})
    assert body["status"] == status and body["closed_at"] and body["allowed_actions"] == []


@pytest.mark.django_db
def test_comment_adds_to_the_timeline_without_changing_the_status(world):
    order = order_in(world, "in_progress")
    body = act(world, "operator", order, "comment", {"text": "来电人补充：楼道也有垃圾", "source": "hotline"})
    assert body["status"] == "in_progress"
    assert body["timeline"][-1]["note"] == "来电人补充：楼道也有垃圾"
    assert body["timeline"][-1]["data"] == {"source": "hotline"}


@pytest.mark.django_db
def test_stale_version_is_a_409_and_writes_nothing(world):
    order = order_in(world, "dispatched")
    before = counts()
    body = assert_error(post(client_for(world, "handler"), f"{API}/work-orders/{order.pk}/sign",
                             {"version": order.version - 1}), 409, "stale_version", "version")
    assert str(order.version) in body["fields"]["version"]
    assert counts() == before
    fresh = WorkOrder.objects.get(pk=order.pk)
    assert (fresh.status, fresh.version) == ("dispatched", order.version)


@pytest.mark.django_db
def test_two_clicks_with_the_same_version_one_wins(world):
    order = order_in(world, "dispatched")
    client = client_for(world, "handler")
    assert post(client, f"{API}/work-orders/{order.pk}/sign", {"version": order.version}).status_code == 200
    assert_error(post(client_for(world, "handler2"), f"{API}/work-orders/{order.pk}/sign", {"version": order.version}),
                 409, "stale_version")


@pytest.mark.django_db
@pytest.mark.parametrize(("state", "action", "username", "body"), [
    ("accepted", "sign", "dispatcher", {}),
    ("closed", "dispatch", "dispatcher", {}),
    ("in_progress", "callback", "operator", {"satisfaction": "satisfied"}),
    ("replied", "withdraw", "operator", {"note": "x"}),
])
def test_illegal_action_is_a_409_and_writes_nothing(world, state, action, username, body):
    order = order_in(world, state)
    before = counts()
    assert_error(post(client_for(world, username), f"{API}/work-orders/{order.pk}/{action}", body), 409,
                 "illegal_transition")
    assert counts() == before


@pytest.mark.django_db
def test_leader_reads_but_may_not_act(world):
    order = order_in(world, "dispatched")
    client = client_for(world, "leader")
    assert client.get(f"{API}/work-orders/{order.pk}").status_code == 200
    before = counts()
    for action, body in (("remind", {}), ("sign", {}), ("withdraw", {"note": "x"}), ("supervise", {"note": "x"})):
        assert_error(post(client, f"{API}/work-orders/{order.pk}/{action}", body), 403, "forbidden")
    assert_error(post_file(world, "leader", order, "a.png", PNG), 403, "forbidden")
    assert counts() == before and not Attachment.objects.exists()


def post_file(world, username, order, name, content, content_type="image/png"):
    return client_for(world, username).post(
        f"{API}/work-orders/{order.pk}/attachments", {"file": SimpleUploadedFile(name, content, content_type=content_type)}
    )


@pytest.mark.django_db
def test_attachment_rules(world):
    order = order_in(world, "dispatched")
    assert post_file(world, "grid_worker", order, "photo.png", PNG).status_code == 201
    assert post_file(world, "water_handler", order, "scan.pdf", b"%PDF-1.7\n" + b"0" * 32, "application/pdf").status_code == 201
    # The declared type does not matter: the bytes do.
    assert_error(post_file(world, "handler", order, "evil.png", b"MZ\x90\x00 not an image"), 422, "validation_error", "file")
    response = client_for(world, "handler").post(f"{API}/work-orders/{order.pk}/attachments", {})
    assert_error(response, 422, "validation_error", "file")
    assert_error(post_file(world, "edu_handler", order, "x.png", PNG), 404, "not_found")
    closed = order_in(world, "closed")
    assert_error(post_file(world, "handler", closed, "late.png", PNG), 409, "conflict")
    assert Attachment.objects.count() == 2


@pytest.mark.django_db
def test_reply_refuses_an_attachment_of_another_order(world):
    order = order_in(world, "co_replied")
    other = order_in(world, "dispatched")
    foreign = post_file(world, "handler", other, "x.png", PNG).json()["id"]
    before = counts()
    assert_error(post(client_for(world, "handler"), f"{API}/work-orders/{order.pk}/reply",
                      {"text": "已办结", "attachment_ids": [foreign]}), 422, "validation_error", "attachment_ids[0]")
    assert counts() == before


@pytest.mark.django_db
def test_extension_after_the_deadline_is_refused(world):
    order = order_in(world, "in_progress")
    WorkOrder.objects.filter(pk=order.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    before = counts()
    assert_error(post(client_for(world, "handler"), f"{API}/work-orders/{order.pk}/request-extension",
                      {"requested_due_at": (timezone.now() + timedelta(days=3)).isoformat(), "reason": "来不及"}),
                 409, "deadline_passed")
    assert counts() == before and not ExtensionRequest.objects.exists()
