"""NUL characters are refused before they reach a service (PostgreSQL cannot store them)."""

import json

import pytest

from tongxin.workorders.models import WorkOrder


@pytest.mark.django_db
def test_nul_in_json_body_is_refused_and_nothing_written(world, client):
    client.force_login(world.user("operator"))
    body = {"channel": "hotline", "kind": "help", "content": "路灯\u0000坏了"}
    response = client.post("/api/v1/work-orders", data=json.dumps(body), content_type="application/json",
                           HTTP_X_CSRFTOKEN="x")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_characters"
    assert WorkOrder.objects.count() == 0


@pytest.mark.django_db
def test_nul_in_query_string_is_refused(world, client):
    client.force_login(world.user("operator"))
    response = client.get("/api/v1/work-orders?q=%00")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_characters"


def test_service_text_refuses_nul():
    from tongxin.core.errors import ValidationFailed, require_text

    with pytest.raises(ValidationFailed) as caught:
        require_text("a\x00b", "content", max_chars=10, label="诉求内容")
    assert "content" in caught.value.fields
