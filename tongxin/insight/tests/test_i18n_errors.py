"""Smart dispatch in English: the errors, the duplicate reasons and the suggestion's reason follow the
request's language; codes and field names do not (docs/i18n.md)."""

from __future__ import annotations

import pytest
from django.test import Client

from .test_api import API, client_for, create


def _get(client: Client, url: str, params: dict | None = None, **headers: str):
    return client.get(url, params or {}, headers=headers)


@pytest.mark.django_db
def test_errors_answer_in_the_language_asked_for(world):
    leader = client_for(world, "leader")
    english = _get(leader, f"{API}/hotspots", {"area_code": "999999"}, accept_language="en")
    chinese = _get(leader, f"{API}/hotspots", {"area_code": "999999"})
    assert english.status_code == chinese.status_code == 422
    assert english.json()["fields"] == {"area_code": "Area code 999999 does not exist"}
    assert chinese.json()["fields"] == {"area_code": "区域代码 999999 不存在"}
    handler = client_for(world, "handler")
    english = _get(handler, f"{API}/hotspots", accept_language="en")
    assert english.status_code == 403 and english.json()["code"] == "forbidden"
    assert english.json()["message"] == "Only leaders and 12345 centre staff can see hotspot alerts and hot words"
    # No model trained: the 503's message is translated, its code is not.
    english = client_for(world, "operator").post(f"{API}/classify", {"text": "暖气不热"}, content_type="application/json",
                                                 headers={"accept_language": "en"})
    assert english.status_code == 503 and english.json()["code"] == "classifier_unavailable"
    assert english.json()["message"].startswith("The classifier model has not been trained yet")


@pytest.mark.django_db
def test_duplicate_reasons_and_the_suggestion_in_english(world):
    original = create(world)
    create(world, content="小区门口的垃圾已经三天没人清理了，味道很大", lat=37.1003, lng=107.1002)
    dispatcher = client_for(world, "dispatcher")
    english = _get(dispatcher, f"{API}/work-orders/{original.pk}/duplicates", accept_language="en").json()
    reasons = english["candidates"][0]["reasons"]
    assert "Same caller" in reasons and "Same category" in reasons
    assert any(r.startswith("About ") and r.endswith(" metres apart") for r in reasons), reasons
    assert "Accepted less than 1 hour apart" in reasons
    chinese = _get(dispatcher, f"{API}/work-orders/{original.pk}/duplicates").json()
    assert "同一来电人" in chinese["candidates"][0]["reasons"]

    from tongxin.workorders.tests.engine_helpers import POINT_B

    elsewhere = create(world, **POINT_B)
    body = _get(dispatcher, f"{API}/work-orders/{elsewhere.pk}/department-suggestion", accept_language="en").json()
    assert body["source"] == "none"
    assert body["reason"] == ("Neither the dispatch catalogue nor past work orders suggest a department; "
                              "please choose one yourself")
