"""The mediation API over HTTP: intake to agreement, masking and the audited reveal, 404 outside
jurisdiction, the one error shape, validation naming the field, the numbers and the target filters."""

from __future__ import annotations

import pytest

from tongxin.core.choices import AuditEventType
from tongxin.core.models import AuditEvent
from tongxin.workorders.services import work_order_create
from tongxin.workorders.tests.test_api import assert_error, client_for, post

API = "/api/v1/mediation"


def _create(client, mw, **overrides):
    body = {"org_id": mw.community.pk, "title": "邻里漏水纠纷", "description": "楼上漏水", "dispute_type": "neighbourhood",
            "source": "walk_in", "parties": [{"name": "张三", "phone": "13812345678", "id_number": "150602199001011234"}],
            "amount": "800.00", "people_count": 2, "risk_violence": True}
    body.update(overrides)
    return post(client, f"{API}/cases", body)


@pytest.fixture
def comm(mw):
    return client_for(mw, "m_comm")


def test_intake_to_agreement_over_http(mw, comm):
    r = _create(comm, mw)
    assert r.status_code == 201, r.content
    case = r.json()
    assert case["status"] == "received" and case["risk"] == ["violence"] and case["owner_org"]["id"] == mw.community.pk
    assert case["parties"][0]["phone"] == "138****5678" and case["parties"][0]["id_number"].startswith("150*")
    assert "mediate" in case["allowed_actions"] and "close" not in case["allowed_actions"]
    cid = case["id"]
    r = post(comm, f"{API}/cases/{cid}/escalate", {"to_org_id": mw.town.pk, "reason": "需街道协调", "version": case["version"]})
    assert r.status_code == 200 and r.json()["status"] == "handover"
    assert r.json()["pending_handover"]["to_org"]["id"] == mw.town.pk
    town = client_for(mw, "m_town")
    assert town.get(f"{API}/cases/{cid}").json()["allowed_actions"] == ["accept_handover", "reject_handover"]
    r = post(town, f"{API}/cases/{cid}/accept-handover", {"note": "接收"})
    assert r.json()["owner_org"]["id"] == mw.town.pk and r.json()["level"] == "town"
    r = post(town, f"{API}/cases/{cid}/sessions", {"place": "街道调解室", "notes": "背对背调解"})
    assert r.status_code == 200
    r = post(town, f"{API}/cases/{cid}/agree", {"text": "赔偿 800 元", "follow_up_days": 15})
    assert r.json()["status"] == "agreed" and r.json()["next_follow_up_at"]
    r = post(town, f"{API}/cases/{cid}/follow-ups", {"note": "已履行"})
    r = post(town, f"{API}/cases/{cid}/close", {})
    assert r.json()["status"] == "closed"
    actions = [e["action"] for e in r.json()["timeline"]]
    assert actions == ["receive", "escalate", "accept_handover", "session", "agree", "follow_up", "close"]


def test_error_shape_and_fields(mw, comm):
    assert_error(_create(comm, mw, dispute_type="fight"), 422, "validation_error", "dispute_type")
    assert_error(_create(comm, mw, parties=[]), 422, "validation_error", "parties")
    assert_error(_create(comm, mw, colour="red"), 422, "validation_error", "colour")
    assert_error(_create(comm, mw, parties=[{"name": "张三", "phone": "x1"}]), 422, "validation_error", "parties[0].phone")
    assert_error(_create(comm, mw, org_id=mw.town.pk), 403, "forbidden")
    cid = _create(comm, mw).json()["id"]
    assert_error(post(comm, f"{API}/cases/{cid}/close", {}), 409, "illegal_transition")
    assert_error(post(comm, f"{API}/cases/{cid}/mediate", {"version": 99}), 409, "conflict", "version")
    assert_error(post(comm, f"{API}/cases/{cid}/escalate", {"to_org_id": mw.city.pk, "reason": "越级"}), 422,
                 "validation_error", "to_org_id")
    assert_error(post(comm, f"{API}/cases/{cid}/fail", {"guidance": "court", "note": "n"}), 422, "validation_error",
                 "guidance")


def test_outside_jurisdiction_is_404(mw, comm):
    cid = _create(comm, mw).json()["id"]
    for name in ("m_town_b", "dispatcher", "nobody"):
        client = client_for(mw, name)
        assert_error(client.get(f"{API}/cases/{cid}"), 404, "not_found")
        assert_error(post(client, f"{API}/cases/{cid}/mediate", {}), 404, "not_found")
    assert_error(client_for(mw, None).get(f"{API}/cases/{cid}"), 401, "unauthenticated")
    assert client_for(mw, "leader").get(f"{API}/cases/{cid}").status_code == 200
    assert client_for(mw, "m_town_b").get(f"{API}/cases").json()["count"] == 0


def test_reveal_audited_over_http(mw, comm):
    case = _create(comm, mw).json()
    pid = case["parties"][0]["id"]
    r = comm.get(f"{API}/cases/{case['id']}/parties/{pid}/reveal")
    assert r.status_code == 200 and r.json()["phone"] == "13812345678" and r["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(event_type=AuditEventType.PERSONAL_DATA_REVEAL, object_id=str(pid)).count() == 1
    assert_error(client_for(mw, "leader").get(f"{API}/cases/{case['id']}/parties/{pid}/reveal"), 403, "forbidden")


def test_from_work_order_over_http(mw):
    order = work_order_create(actor=mw.user("operator"), channel="hotline", kind="complaint", content="邻里噪音纠纷",
                              area_code=mw.w.community_a.code, citizen_name="王五", citizen_phone="13700001234")
    dispatcher = client_for(mw, "dispatcher")
    r = post(dispatcher, f"{API}/cases/from-work-order",
             {"order_id": order.pk, "org_id": mw.community.pk, "dispute_type": "neighbourhood"})
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    detail = client_for(mw, "m_comm").get(f"{API}/cases/{cid}").json()
    assert detail["source"] == "hotline" and detail["work_orders"][0]["number"] == order.number
    assert detail["parties"][0]["phone"] == "137****1234"
    assert_error(post(dispatcher, f"{API}/cases/from-work-order",
                      {"order_id": order.pk, "org_id": mw.community.pk, "dispute_type": "neighbourhood"}), 409)


def test_numbers_and_target_filter(mw, comm):
    cid = _create(comm, mw).json()["id"]
    post(comm, f"{API}/cases/{cid}/mediate", {})
    post(comm, f"{API}/cases/{cid}/agree", {"text": "协议"})
    leader = client_for(mw, "leader")
    n = leader.get(f"{API}/numbers").json()
    assert n["received"] == 1 and n["concluded"] == 1 and n["success_rate"] == 1.0
    target = {t["key"]: t for t in n["targets"]}
    assert target["within_community"]["rate"] == 1.0 and target["within_community"]["met"] is True
    assert {row["level"] for row in n["by_level"]} == {"community", "town", "district", "city"}
    r = leader.get(f"{API}/cases", {"target": "within_community", "met": "true"})
    assert r.json()["count"] == 1
    assert leader.get(f"{API}/cases", {"target": "within_community", "met": "false"}).json()["count"] == 0
    assert_error(leader.get(f"{API}/cases", {"target": "nowhere"}), 422, "validation_error", "target")
    assert_error(leader.get(f"{API}/numbers", {"area_code": "999"}), 422, "validation_error", "area_code")


def test_expert_pool(mw):
    client = client_for(mw, "m_comm")
    experts = client.get(f"{API}/mediators", {"experts": "true", "speciality": "traffic"}).json()
    assert [m["name"] for m in experts] == ["调解员m_traffic"]
    mongolian = client.get(f"{API}/mediators", {"language": "mn"}).json()
    assert {m["name"] for m in mongolian} == {"调解员m_city", "调解员m_town"}
    orgs = client.get(f"{API}/orgs", {"area_code": mw.w.community_a.code}).json()
    assert {o["code"] for o in orgs} == {"M-COMM-A", "M-TOWN-A", "M-DIST-A", "M-CITY", "M-TRAFFIC-A"}


def test_case_list_query_count(mw, comm, django_assert_max_num_queries):
    for _ in range(5):
        _create(comm, mw)
    with django_assert_max_num_queries(8):
        r = comm.get(f"{API}/cases")
    assert r.json()["count"] == 5
