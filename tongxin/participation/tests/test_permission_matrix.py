"""Every staff endpoint of consultations against every role of the test world: readers (grid worker of
grid A, leader of the city, admin) read; writers (grid worker, admin) act; a reader-only role is refused
an action (403 in the API, a message on the page); everyone else gets 404, as for a missing topic."""

from __future__ import annotations

import pytest
from django.test import Client

from tongxin.participation import services
from tongxin.participation.choices import Status
from tongxin.participation.models import Topic

from .conftest import topic_input
from .test_api import body

pytestmark = pytest.mark.django_db

READERS = {"grid_worker", "leader", "admin"}
WRITERS = {"grid_worker", "admin"}
ROLES = ["operator", "dispatcher", "supervisor", "dispatcher_b", "handler", "water_handler", "edu_handler",
         "grid_worker", "leader", "leader_b", "admin", "nobody"]


@pytest.mark.parametrize("role", ROLES)
def test_matrix(world, estate, role):
    topic = services.topic_create(actor=world.user("grid_worker"), data=topic_input(world))
    client = Client()
    client.force_login(world.user(role))
    read = 200 if role in READERS else 404
    assert client.get(f"/participation/{topic.pk}/").status_code == read
    assert client.get(f"/api/v1/participation/topics/{topic.pk}").status_code == read
    assert client.get(f"/participation/{topic.pk}/export.xlsx").status_code == 404  # a draft has no tally
    assert client.get("/participation/new/").status_code == (200 if role in WRITERS else 404)
    assert client.get(f"/participation/{topic.pk}/edit/").status_code == (200 if role in WRITERS else 404)
    api_open = client.post(f"/api/v1/participation/topics/{topic.pk}/open")
    assert api_open.status_code == (200 if role in WRITERS else 403 if role in READERS else 404), api_open.content
    assert Topic.objects.get(pk=topic.pk).status == (Status.OPEN if role in WRITERS else Status.DRAFT)
    if role not in WRITERS:
        page_close = client.post(f"/participation/{topic.pk}/close/")
        assert page_close.status_code == (302 if role in READERS else 404)
        assert client.get(f"/api/v1/participation/topics/{topic.pk}/results").status_code == 404  # a draft
        created = client.post("/api/v1/participation/topics", body(world), content_type="application/json")
        assert created.status_code == 403, created.content
        assert Topic.objects.count() == 1
    else:
        assert client.get(f"/participation/{topic.pk}/export.xlsx").status_code == 200
        assert client.get(f"/api/v1/participation/topics/{topic.pk}/results").status_code == 200
