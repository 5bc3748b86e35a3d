"""The public board's district outlines (issue #5): simplified, public, cached, under the points."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tongxin.regions.models import Area
from tongxin.residents import selectors

pytestmark = pytest.mark.django_db


def _wiggly(lng: float, lat: float, size: float, steps: int = 400) -> dict:
    """A square whose edges carry many tiny zig-zags: what a detailed boundary looks like."""
    ring = []
    for i in range(steps):
        t = i / steps
        ring.append([lng + size * t, lat + (0.00001 if i % 2 else 0)])
    ring += [[lng + size, lat + size], [lng, lat + size], [lng, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_outlines_are_the_districts_simplified(world):
    Area.objects.filter(pk=world.district_a.pk).update(boundary=_wiggly(107, 37, 2))
    cache.clear()
    outlines = selectors.board_outlines()
    assert outlines["type"] == "FeatureCollection"
    by_code = {f["properties"]["code"]: f for f in outlines["features"]}
    assert set(by_code) == {"150602", "150603"}  # districts only: not the city, towns or grids
    assert by_code["150602"]["properties"]["name"] == "甲区"
    ring = by_code["150602"]["geometry"]["coordinates"][0]
    assert len(ring) < 20  # 400 zig-zags of 1 m gone at a city-wide scale


def test_outlines_endpoint_is_public_and_cacheable(client, world):
    response = client.get("/r/board/outlines.json")
    assert response.status_code == 200 and response["Cache-Control"] == "public, max-age=3600"
    assert len(response.json()["features"]) == 2
    page = client.get("/r/board/").content.decode()
    assert 'data-outlines="/r/board/outlines.json"' in page


def test_a_broken_boundary_is_left_out_not_fatal(world):
    Area.objects.filter(pk=world.district_b.pk).update(boundary={"type": "Polygon", "coordinates": "nonsense"})
    cache.clear()
    codes = [f["properties"]["code"] for f in selectors.board_outlines()["features"]]
    assert codes == ["150602"]
