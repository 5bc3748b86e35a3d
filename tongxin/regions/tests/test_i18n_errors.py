"""The regions API and services in English (docs/i18n.md): same codes and fields, English reasons."""

from __future__ import annotations

import pytest
from django.utils import translation

from tongxin.core.errors import ValidationFailed
from tongxin.regions.choices import AreaLevel
from tongxin.regions.services import area_upsert
from tongxin.workorders.tests.test_api import _fast_password_hashing, client_for  # noqa: F401 - autouse fixture


@pytest.mark.django_db
def test_a_point_outside_every_area_answers_in_english(world):
    answer = client_for(world, "dispatcher").get("/api/v1/areas/locate?lng=120.1&lat=30.2",
                                                 headers={"accept-language": "en"})
    assert answer.status_code == 404
    assert answer.json()["code"] == "outside_areas"
    assert answer.json()["message"] == "These coordinates are not in any area"


@pytest.mark.django_db
def test_a_level_error_names_both_levels_in_english(world):
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        area_upsert(code="150602009", name="错层", level=AreaLevel.DISTRICT, parent=world.town_a)
    assert caught.value.code == "validation_error"
    assert caught.value.fields == {"level": "District / banner cannot be placed under Town / sumu / street"}
