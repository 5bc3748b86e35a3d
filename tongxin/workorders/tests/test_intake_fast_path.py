"""Intake's fast path (ADR 0008, docs/performance.md): the query count of POST /work-orders, the
per-process reference cache that never lets a stale row through, and the socket health check."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from django.test import Client

from tongxin.accounts.services import api_token_create, invalidate_token_cache
from tongxin.core.errors import ValidationFailed
from tongxin.regions.models import Area
from tongxin.testing import build_world
from tongxin.workorders import selectors
from tongxin.workorders.models import Category, DailyCounter, WorkOrder, WorkOrderEvent

from .engine_helpers import create, fast_password_hashing  # noqa: F401 - autouse fixture
from .test_api import API, create_body, post

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the single-statement intake is PostgreSQL's")


@pytest.fixture(autouse=True)
def _empty_caches():
    selectors.invalidate_intake_cache()
    invalidate_token_cache()
    yield
    selectors.invalidate_intake_cache()
    invalidate_token_cache()


def _counts():
    return (WorkOrder.objects.count(), WorkOrderEvent.objects.count(), list(DailyCounter.objects.values_list("day", "last")))


@pytest.mark.django_db
def test_intake_through_the_api_takes_one_statement_on_postgresql(world, django_assert_max_num_queries):
    client = Client(headers={"Authorization": f"Bearer {api_token_create(user=world.user('operator'))[1]}"})
    assert post(client, f"{API}/work-orders", create_body()).status_code == 201  # token, category, area read once
    # Then: one statement on PostgreSQL (number, order, event, repeat check); the ORM path elsewhere.
    limit = 1 if connection.vendor == "postgresql" else 8
    with django_assert_max_num_queries(limit):
        response = post(client, f"{API}/work-orders", create_body(citizen_phone="13900000000"))
    assert response.status_code == 201
    order = WorkOrder.objects.get(pk=response.json()["id"])
    assert order.events.get().action == "accept" and order.category.code == "C010101"


@pytest.mark.django_db
def test_both_paths_write_the_same_order_and_event(world):
    """The fast path fills every column as the ORM would (compare with the documented defaults)."""
    first = create(world, note="第一次来电")
    again = create(world, note="再次来电")
    for order in (first, again):
        stored = WorkOrder.objects.get(pk=order.pk)
        assert stored.number == order.number and stored.is_repeat == order.is_repeat
        assert (stored.status, stored.version, stored.reply_text, stored.satisfaction) == ("accepted", 1, "", "")
        assert stored.lead_department_id is None and stored.due_at is None and stored.merged_into_id is None
        event = stored.events.get()
        assert (event.from_status, event.to_status, event.actor_role, event.actor_label) == ("", "accepted", "operator", "operator")
        assert event.at == stored.accepted_at and event.data == {"channel": "hotline"} and event.department_id is None
    assert (first.is_repeat, again.is_repeat) == (False, True)
    assert int(again.number) == int(first.number) + 1
    assert WorkOrderEvent.objects.get(order=first).note == "第一次来电"


@postgres_only
@pytest.mark.django_db
def test_a_category_deactivated_behind_the_cache_is_refused_and_uses_no_number(world):
    create(world)  # the category is now cached in this process
    before = _counts()
    Category.objects.filter(code="C010101").update(active=False)  # no signal: as another process would
    with pytest.raises(ValidationFailed) as caught:
        create(world)
    assert "category_code" in caught.value.fields
    assert _counts() == before


@postgres_only
@pytest.mark.django_db
def test_an_area_moved_behind_the_cache_is_read_again(world):
    create(world)  # grid A cached with its path
    grid = Area.objects.get(pk=world.grid_a.pk)
    moved = grid.path  # the operator's scope is the city: any path below it stays in their jurisdiction
    Area.objects.filter(pk=grid.pk).update(path=moved + "9/")  # no signal: as another process would
    order = create(world)
    assert order.area_id == grid.pk and order.area_path == moved + "9/"  # the guard failed once, read again
    assert WorkOrder.objects.get(pk=order.pk).area_path == moved + "9/"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_between_requests_is_replaced_without_an_error(settings):
    """CONN_HEALTH_CHECKS: the socket check must not wave a dead connection through."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = build_world()
    client = Client(headers={"Authorization": f"Bearer {api_token_create(user=world.user('operator'))[1]}"})
    old_max_age, old_checks = connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"]
    connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"] = 600, True
    connection.close()
    try:
        assert post(client, f"{API}/work-orders", create_body()).status_code == 201
        assert connection.connection is not None  # kept for the next request
        pid = connection.connection.info.backend_pid
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])  # waits until the backend is gone
        # What request_started does in a server (the test client leaves it out): the connection is
        # kept, and is due for a health check before its first query.
        connection.close_if_unusable_or_obsolete()
        assert connection.connection is not None and not connection.health_check_done
        response = post(client, f"{API}/work-orders", create_body(citizen_phone="13900000001"))
        assert response.status_code == 201, response.content
        assert connection.connection.info.backend_pid != pid
    finally:
        connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"] = old_max_age, old_checks
        connection.close()
