"""/api/v1/areas: the tree, read-only, boundaries only on request."""

from __future__ import annotations

import pytest

from tongxin.workorders.tests.test_api import (
    API,
    _fast_password_hashing,  # noqa: F401 - autouse fixture
    assert_error,
    client_for,
)


@pytest.mark.django_db
def test_areas_top_children_and_levels(world):
    client = client_for(world, "leader")
    [city] = client.get(f"{API}/areas").json()
    assert city["code"] == "150600" and city["parent_code"] is None and city["has_children"] is True
    assert city["boundary"] is None and city["bbox"] == [107.0, 37.0, 111.0, 41.0]
    children = client.get(f"{API}/areas?parent=150600").json()
    assert [(a["code"], a["name"], a["level"], a["depth"]) for a in children] == [
        ("150602", "甲区", "district", 1), ("150603", "乙区", "district", 1)]
    assert all(a["boundary"] is None for a in children)
    assert [a["code"] for a in client.get(f"{API}/areas?level=town").json()] == ["150602001", "150603001"]
    assert [a["code"] for a in client.get(f"{API}/areas?parent=150602&level=grid").json()] == ["150602001001G01"]
    grid = client.get(f"{API}/areas?parent=150602001001").json()
    assert grid[0]["has_children"] is False and grid[0]["level_label"] == "网格"
    with_boundary = client.get(f"{API}/areas?parent=150600&boundary=1").json()
    assert with_boundary[0]["boundary"]["type"] == "Polygon"


@pytest.mark.django_db
def test_area_detail_with_ancestors(world):
    client = client_for(world, "grid_worker")
    body = client.get(f"{API}/areas/150602001001G01").json()
    assert body["name"] == "甲一网格" and body["boundary"] is None
    assert [a["code"] for a in body["ancestors"]] == ["150600", "150602", "150602001", "150602001001"]
    assert client.get(f"{API}/areas/150602001001G01?boundary=1").json()["boundary"]["type"] == "Polygon"
    assert client.get(f"{API}/areas/150600").json()["ancestors"] == []


@pytest.mark.django_db
def test_areas_bad_input(world):
    client = client_for(world, "operator")
    assert_error(client.get(f"{API}/areas/000000"), 404, "not_found")
    assert_error(client.get(f"{API}/areas?parent=000000"), 422, "validation_error", "parent")
    assert_error(client.get(f"{API}/areas?level=province"), 422, "validation_error", "level")
    assert_error(client.get(f"{API}/areas?boundary=maybe"), 422, "validation_error", "boundary")
