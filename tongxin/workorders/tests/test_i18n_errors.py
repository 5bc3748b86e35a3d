"""The same bad request in English and in Chinese: the message and the field reasons follow the request's
language (Accept-Language or the language cookie set by /i18n/setlang/), the code and the field names
do not (docs/i18n.md)."""

from __future__ import annotations

import pytest
from django.conf import settings

from .test_api import API, _fast_password_hashing, client_for, create_body  # noqa: F401 - autouse fixture


def create(client, body, **headers):
    return client.post(f"{API}/work-orders", body, content_type="application/json", headers=headers)


@pytest.mark.django_db
def test_a_service_error_answers_in_the_language_asked_for(world):
    client = client_for(world, "operator")
    english = create(client, create_body(citizen_phone="call me"), accept_language="en").json()
    chinese = create(client, create_body(citizen_phone="call me")).json()
    assert english == {"code": "validation_error", "message": "There are errors in what you submitted; please check the marked fields",
                       "fields": {"citizen_phone": "Invalid phone number"}}
    assert chinese == {"code": "validation_error", "message": "提交的内容有误，请检查标出的字段",
                       "fields": {"citizen_phone": "电话号码格式不正确"}}


@pytest.mark.django_db
def test_placeholders_and_labels_are_translated_together(world):
    client = client_for(world, "operator")
    body = create(client, create_body(area_code="999999"), accept_language="en").json()
    assert body["code"] == "validation_error"
    assert body["fields"] == {"area_code": "Area code 999999 does not exist"}
    body = create(client, create_body(content="长" * 5001), accept_language="en").json()
    assert body["fields"] == {"content": "Request content cannot exceed 5000 characters (it has 5001)"}


@pytest.mark.django_db
def test_schema_errors_and_the_language_cookie(world):
    """A field the schema rejects (Ninja/pydantic) is translated too; the cookie works like the header."""
    client = client_for(world, "operator")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = create_body()
    del body["content"]
    answer = create(client, body)
    assert answer.status_code == 422
    assert answer.json() == {"code": "validation_error", "message": "There are errors in what you submitted; please check the marked fields",
                             "fields": {"content": "Required"}}


@pytest.mark.django_db
def test_a_conflict_keeps_its_code_in_english(world):
    from tongxin.workorders.tests.test_api import order_in

    order = order_in(world, "accepted")
    client = client_for(world, "dispatcher")
    answer = client.post(f"{API}/work-orders/{order.pk}/dispatch", {"version": order.version + 5},
                         content_type="application/json", headers={"accept_language": "en"})
    assert answer.status_code == 409
    assert answer.json()["code"] == "stale_version"
    assert answer.json()["message"] == "Someone else has acted on this order (its version changed); please refresh and try again"
    assert set(answer.json()["fields"]) == {"version"}
