"""The state machine's refusals (the errors people hit most) in English and in Chinese: the message
follows the request's language, with the status and action labels translated inside it; the code and
the fields do not change (docs/i18n.md)."""

from __future__ import annotations

import pytest

from .test_api import API, _fast_password_hashing, client_for, order_in  # noqa: F401 - autouse fixture


def _sign(client, order, **headers):
    return client.post(f"{API}/work-orders/{order.pk}/sign", {}, content_type="application/json", headers=headers)


@pytest.mark.django_db
def test_an_illegal_transition_answers_in_the_language_asked_for(world):
    order = order_in(world, "accepted")
    client = client_for(world, "dispatcher")  # sees the order; nobody may sign it before it is dispatched
    english, chinese = _sign(client, order, accept_language="en"), _sign(client, order)
    assert english.status_code == chinese.status_code == 409
    assert english.json() == {"code": "illegal_transition", "message": 'The work order is "Accepted"; "Sign" is not possible now',
                              "fields": {"action": "sign", "status": "accepted"}}
    assert chinese.json() == {"code": "illegal_transition", "message": "工单当前状态为「已受理待派单」，不能执行「签收」",
                              "fields": {"action": "sign", "status": "accepted"}}


@pytest.mark.django_db
def test_a_role_that_may_not_act_answers_in_english(world):
    order = order_in(world, "dispatched")
    client = client_for(world, "operator")
    english, chinese = _sign(client, order, accept_language="en"), _sign(client, order)
    assert english.status_code == chinese.status_code == 403
    assert english.json()["code"] == chinese.json()["code"] == "forbidden"
    assert english.json()["message"] == 'Your role cannot take "Sign" on this work order'
    assert chinese.json()["message"] == "您的角色不能对该工单执行「签收」"
