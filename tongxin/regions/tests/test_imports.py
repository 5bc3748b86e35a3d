"""Imports: towns from the statistics-code CSV, boundaries from GeoJSON (converted to WGS-84)."""

from __future__ import annotations

import pytest

from tongxin.core.choices import AuditEventType
from tongxin.core.datums import bd09_to_gcj02, gcj02_to_wgs84, wgs84_to_gcj02
from tongxin.core.errors import ValidationFailed
from tongxin.core.models import AuditEvent
from tongxin.regions.choices import AreaLevel
from tongxin.regions.models import Area
from tongxin.regions.services import area_import_geojson, area_import_town_codes, area_upsert, read_csv_text

pytestmark = pytest.mark.django_db

CSV = """\ufeffcode,name,areaCode,areaName,cityCode
150602001,甲街道,150602,甲区,150600
150602002,乙街道,150602,甲区,150600
150603100,丙镇,150603,乙区,150600
150102001,外市街道,150102,外市区,150100
,空行,150602,甲区,150600
"""


@pytest.fixture
def districts():
    city = area_upsert(code="150600", name="测试市", level=AreaLevel.CITY, parent=None)
    return {
        "city": city,
        "a": area_upsert(code="150602", name="甲区", level=AreaLevel.DISTRICT, parent=city),
        "b": area_upsert(code="150603", name="乙区", level=AreaLevel.DISTRICT, parent=city),
    }


def test_town_codes_import_and_reimport(districts):
    rows = read_csv_text(CSV)
    assert rows[0]["code"] == "150602001"  # the byte-order mark is stripped
    result = area_import_town_codes(rows=rows, city_code="150600")
    assert result == {"created": 3, "updated": 0, "skipped": 2}
    town = Area.objects.get(code="150603100")
    assert (town.parent_id, town.level, town.depth) == (districts["b"].pk, AreaLevel.TOWN, 2)
    pks = dict(Area.objects.values_list("code", "pk"))
    renamed = read_csv_text(CSV.replace("丙镇", "丙镇（更名）"))
    assert area_import_town_codes(rows=renamed, city_code="150600") == {"created": 0, "updated": 3, "skipped": 2}
    assert dict(Area.objects.values_list("code", "pk")) == pks
    assert Area.objects.get(code="150603100").name == "丙镇（更名）"
    assert AuditEvent.objects.filter(event_type=AuditEventType.AREA_IMPORTED).count() == 2


def test_town_import_needs_its_district(districts):
    rows = read_csv_text("code,name,areaCode\n150609001,孤镇,150609\n")
    with pytest.raises(ValidationFailed) as caught:
        area_import_town_codes(rows=rows, city_code="150600")
    assert "areaCode" in caught.value.fields


def _polygon(points):
    return {"type": "Polygon", "coordinates": [[list(p) for p in [*points, points[0]]]]}


WGS_RING = [(107.0, 37.0), (108.0, 37.0), (108.0, 38.0), (107.0, 38.0)]


def _collection(ring, *, code="150602001", name="甲街道", geometry=None):
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"adcode": code, "name": name},
         "geometry": geometry or _polygon(ring)}]}


def test_geojson_in_gcj02_is_stored_in_wgs84(districts):
    gcj_ring = [wgs84_to_gcj02(lng, lat) for lng, lat in WGS_RING]
    assert abs(gcj_ring[0][0] - 107.0) > 1e-4  # the datum shift is real here
    result = area_import_geojson(collection=_collection(gcj_ring), datum="gcj02", level=AreaLevel.TOWN,
                                 parent=districts["a"])
    assert result == {"created": 1, "updated": 0}
    town = Area.objects.get(code="150602001")
    stored = town.boundary["coordinates"][0]
    for (lng, lat), (want_lng, want_lat) in zip(stored, [*WGS_RING, WGS_RING[0]], strict=True):
        assert lng == pytest.approx(want_lng, abs=1e-6) and lat == pytest.approx(want_lat, abs=1e-6)
    assert town.min_lng == pytest.approx(107.0, abs=1e-6) and town.max_lat == pytest.approx(38.0, abs=1e-6)
    assert town.parent_id == districts["a"].pk


def test_geojson_in_bd09_and_multipolygon(districts):
    from tongxin.core.datums import from_wgs84

    bd_ring = [from_wgs84(lng, lat, "bd09") for lng, lat in WGS_RING]
    geometry = {"type": "MultiPolygon", "coordinates": [_polygon(bd_ring)["coordinates"]]}
    area_import_geojson(collection=_collection(None, geometry=geometry), datum="bd09", level=AreaLevel.TOWN,
                        parent=districts["a"])
    stored = Area.objects.get(code="150602001").boundary["coordinates"][0][0]
    for (lng, lat), (want_lng, want_lat) in zip(stored, [*WGS_RING, WGS_RING[0]], strict=True):
        assert lng == pytest.approx(want_lng, abs=1e-6) and lat == pytest.approx(want_lat, abs=1e-6)
    # Sanity of the helper used above: BD-09 → GCJ-02 → WGS-84 is what the import applies.
    assert gcj02_to_wgs84(*bd09_to_gcj02(*bd_ring[0])) == pytest.approx(WGS_RING[0], abs=1e-7)


def test_geojson_reimport_keeps_the_key_and_wgs84_is_untouched(districts):
    area_import_geojson(collection=_collection(WGS_RING), datum="wgs84", level=AreaLevel.TOWN, parent=districts["a"])
    pk = Area.objects.get(code="150602001").pk
    shifted = [(lng + 0.5, lat) for lng, lat in WGS_RING]
    result = area_import_geojson(collection=_collection(shifted, name="甲街道（新）"), datum="wgs84",
                                 level=AreaLevel.TOWN, parent=districts["a"])
    assert result == {"created": 0, "updated": 1}
    town = Area.objects.get(code="150602001")
    assert town.pk == pk and town.name == "甲街道（新）" and town.boundary["coordinates"][0][0] == [107.5, 37.0]


@pytest.mark.parametrize(("collection", "field"), [
    ({"type": "Feature"}, "file"),
    (_collection(WGS_RING, code=""), "features[0]"),
    (_collection(WGS_RING, name=""), "features[0]"),
    (_collection(None, geometry={"type": "Point", "coordinates": [107, 37]}), "features[0].geometry"),
])
def test_bad_geojson_is_refused_and_writes_nothing(districts, collection, field):
    before = Area.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        area_import_geojson(collection=collection, datum="wgs84", level=AreaLevel.TOWN, parent=districts["a"])
    assert field in caught.value.fields
    assert Area.objects.count() == before
