"""The accounts API in English: the reason is English, the code and the field name are the same (docs/i18n.md)."""

from __future__ import annotations

import pytest

from tongxin.workorders.tests.test_api import _fast_password_hashing, client_for  # noqa: F401 - autouse fixture


@pytest.mark.django_db
def test_unknown_area_code_answers_in_english(world):
    client = client_for(world, "dispatcher")
    english = client.get("/api/v1/departments?area_code=999999", headers={"accept-language": "en"})
    chinese = client.get("/api/v1/departments?area_code=999999")
    assert english.status_code == chinese.status_code == 422
    assert english.json() == {"code": "validation_error",
                              "message": "There are errors in what you submitted; please check the marked fields",
                              "fields": {"area_code": "Area code 999999 does not exist"}}
    assert chinese.json()["fields"] == {"area_code": "区域代码 999999 不存在"}


@pytest.mark.django_db
def test_unauthenticated_answers_in_english(world):
    answer = client_for(world, None).get("/api/v1/me", headers={"accept-language": "en"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthenticated"
    assert answer.json()["message"] == "Please sign in or provide a valid API token"
