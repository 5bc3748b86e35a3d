"""The same bad mediation request in English and in Chinese: the message and the field reasons follow the
request's language, the code and the field names do not (docs/i18n.md)."""

from __future__ import annotations

from tongxin.workorders.tests.test_api import client_for

API = "/api/v1/mediation"


def _post(client, url, body, **headers):
    return client.post(url, body, content_type="application/json", headers=headers)


def _case_body(mw, **overrides):
    body = {"org_id": mw.community.pk, "title": "邻里漏水纠纷", "description": "楼上漏水", "dispute_type": "neighbourhood",
            "source": "walk_in", "parties": [{"name": "张三", "phone": "13812345678"}]}
    body.update(overrides)
    return body


def test_a_field_reason_answers_in_the_language_asked_for(mw):
    client = client_for(mw, "m_comm")
    english = _post(client, f"{API}/cases", _case_body(mw, parties=[{"name": "张三", "id_number": "15060219900101123%"}]),
                    accept_language="en")
    chinese = _post(client, f"{API}/cases", _case_body(mw, parties=[{"name": "张三", "id_number": "15060219900101123%"}]))
    assert english.status_code == chinese.status_code == 422
    assert english.json() == {"code": "validation_error",
                              "message": "There are errors in what you submitted; please check the marked fields",
                              "fields": {"parties[0].id_number": "Invalid ID number"}}
    assert chinese.json()["fields"] == {"parties[0].id_number": "证件号码格式不正确"}
    english = _post(client, f"{API}/cases", _case_body(mw, area_code="999999"), accept_language="en")
    assert english.status_code == 422
    assert english.json()["fields"] == {"area_code": "Area 999999 does not exist"}


def test_an_illegal_transition_and_an_escalation_in_english(mw):
    client = client_for(mw, "m_comm")
    created = _post(client, f"{API}/cases", _case_body(mw))
    assert created.status_code == 201, created.content
    cid = created.json()["id"]
    english = _post(client, f"{API}/cases/{cid}/close", {}, accept_language="en")
    chinese = _post(client, f"{API}/cases/{cid}/close", {})
    assert english.status_code == chinese.status_code == 409
    assert english.json()["code"] == chinese.json()["code"] == "illegal_transition"
    assert english.json()["message"] == 'The case is "Accepted"; "Close (stable)" is not possible now'
    assert chinese.json()["message"] == "案件当前状态为「已受理」，不能执行「结案（稳定）」"
    # Skipping a level: the reason names the level in English too (a translated choice label inside a translated sentence).
    english = _post(client, f"{API}/cases/{cid}/escalate", {"to_org_id": mw.city.pk, "reason": "越级"}, accept_language="en")
    assert english.status_code == 422
    assert english.json()["fields"] == {
        "to_org_id": "A case can only be escalated one level up, to a Sumu / town level organisation; levels cannot be skipped"}
