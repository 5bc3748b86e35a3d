"""The JSON API: staff topics (scoped: 404 outside), the resident's vote with its cookie, the one error
shape naming the field."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from tongxin.core.models import AuditEvent
from tongxin.participation.choices import Event

from .conftest import open_topic, option_id, property_input
from .test_views import as_resident

pytestmark = pytest.mark.django_db


def staff(world, username: str) -> Client:
    client = Client()
    client.force_login(world.user(username))
    return client


def body(world, **overrides):
    now = timezone.now()
    data = {"title": "垃圾分类投放点", "body": "请选择投放点位置", "kind": "governance", "scope_kind": "grid",
            "area_id": world.grid_a.pk, "opens_at": now.isoformat(), "closes_at": (now + dt.timedelta(days=3)).isoformat(),
            "options": ["北门", "南门"]}
    data.update(overrides)
    return data


def test_staff_flow(world, estate):
    gw = staff(world, "grid_worker")
    r = gw.post("/api/v1/participation/topics", body(world), content_type="application/json")
    assert r.status_code == 201, r.content
    topic_id = r.json()["id"]
    assert r.json()["status"] == "draft" and [o["label"] for o in r.json()["options"]] == ["北门", "南门"]
    r = gw.put(f"/api/v1/participation/topics/{topic_id}", body(world, title=""), content_type="application/json")
    assert r.status_code == 422 and r.json()["fields"] == {"title": "标题不能为空"}
    r = gw.post(f"/api/v1/participation/topics/{topic_id}/open")
    assert r.status_code == 200 and r.json()["electors"] == 5 and r.json()["accepting"]
    r = gw.get(f"/api/v1/participation/topics/{topic_id}/results")
    assert r.json()["voted"] == 0 and r.json()["verdict"] is None
    assert staff(world, "leader_b").get(f"/api/v1/participation/topics/{topic_id}").status_code == 404
    assert staff(world, "handler").get("/api/v1/participation/topics").json() == []
    r = staff(world, "leader").post(f"/api/v1/participation/topics/{topic_id}/close")
    assert r.status_code == 403
    assert gw.post(f"/api/v1/participation/topics/{topic_id}/close").json()["status"] == "closed"


def test_resident_vote_over_http(world, estate):
    topic = open_topic(world, property_input(estate, publication="live"))
    client = as_resident(Client(), estate.owners[0])
    assert [t["id"] for t in client.get("/api/v1/residents/topics").json()] == [topic.pk]
    assert client.get(f"/api/v1/residents/topics/{topic.pk}/receipt").status_code == 404
    r = client.post(f"/api/v1/residents/topics/{topic.pk}/vote", {"option_ids": []}, content_type="application/json")
    assert r.status_code == 422 and r.json()["fields"] == {"options": "请至少选择一项"}
    r = client.post(f"/api/v1/residents/topics/{topic.pk}/vote", {"option_ids": [option_id(topic, "approve")]},
                    content_type="application/json")
    assert r.status_code == 201 and r.json()["option_labels"] == ["同意"]
    r = client.post(f"/api/v1/residents/topics/{topic.pk}/vote", {"option_ids": [option_id(topic, "reject")]},
                    content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "vote_already_cast"
    assert AuditEvent.objects.filter(event_type=Event.VOTE_CHANGE_REFUSED).count() == 1
    assert client.get(f"/api/v1/residents/topics/{topic.pk}/receipt").json()["option_labels"] == ["同意"]
    results = client.get(f"/api/v1/residents/topics/{topic.pk}/results").json()
    assert results["voted"] == 1 and results["verdict"]["passed"] is False
    other = as_resident(Client(), estate.other_owner)
    assert other.get(f"/api/v1/residents/topics/{topic.pk}").status_code == 404
    assert Client().get("/api/v1/residents/topics").status_code == 401
