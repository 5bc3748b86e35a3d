"""The insight API over real HTTP on the real database: authentication, roles, jurisdiction (404
outside), classification with the category mapping and the threshold, duplicates, department
suggestion, hotspots and hot words."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tongxin.accounts.services import api_token_create
from tongxin.workorders import services as s
from tongxin.workorders.tests.engine_helpers import POINT_A, POINT_B, drive

from .conftest import closed_history

API = "/api/v1/insight"


def client_for(world: Any, username: str | None) -> Client:
    client = Client()
    if username:
        client.force_login(world.user(username))
    return client


def post(client: Client, url: str, data: Any) -> Any:
    return client.post(url, data, content_type="application/json")


def create(world: Any, *, actor: str = "operator", **kwargs: Any) -> Any:
    args = {"channel": "hotline", "kind": "complaint", "content": "小区门口垃圾三天没人清理，气味很大",
            "category_code": "C010101", **POINT_A, "citizen_name": "张三", "citizen_phone": "13812345678", **kwargs}
    return s.work_order_create(actor=world.user(actor), **args)


# --- classify ---------------------------------------------------------------------------------------------

@pytest.mark.django_db
class TestClassify:
    def test_needs_authentication_and_a_role(self, world, settings, synthetic_model_file):
        settings.TONGXIN_CLASSIFIER_MODEL = synthetic_model_file
        assert post(Client(), f"{API}/classify", {"text": "暖气不热"}).status_code == 401
        response = post(client_for(world, "nobody"), f"{API}/classify", {"text": "暖气不热"})
        assert response.status_code == 403 and response.json()["code"] == "forbidden"

    def test_without_a_model_answers_503_with_the_reason(self, world):
        response = post(client_for(world, "operator"), f"{API}/classify", {"text": "暖气不热"})
        assert response.status_code == 503
        assert response.json()["code"] == "classifier_unavailable"
        assert "tongxin classifier retrain" in response.json()["message"]

    def test_top_three_mapped_to_the_tree_and_preselected(self, world, settings, synthetic_model_file):
        settings.TONGXIN_CLASSIFIER_MODEL = synthetic_model_file
        _token, plain = api_token_create(user=world.user("operator"), name="t")
        client = Client(headers={"Authorization": f"Bearer {plain}"})
        body = post(client, f"{API}/classify", {"text": "阳光花园3号楼暖气不热，物业一直不来维修"}).json()
        assert body["top"][0]["name"] == "城乡建设"
        assert len(body["top"]) == 3
        assert body["top"][0]["confidence"] >= body["top"][1]["confidence"] >= body["top"][2]["confidence"]
        assert body["top"][0]["category"] == {"id": world.category_root.pk, "code": "C01", "name": "城乡建设", "level": 1}
        names = {t["name"]: t["category"] for t in body["top"]}
        assert names["卫生计生"] is None  # not in this tree
        assert body["preselect"]["code"] == "C01" and body["preselect"]["confidence"] >= body["threshold"]
        assert body["model"]["source"] == "file" and body["model"]["format_version"] == 1

    def test_below_the_threshold_nothing_is_preselected(self, world, settings, synthetic_model_file):
        settings.TONGXIN_CLASSIFIER_MODEL = synthetic_model_file
        settings.TONGXIN_CLASSIFIER_THRESHOLD = 0.999
        body = post(client_for(world, "operator"), f"{API}/classify", {"text": "阳光花园暖气不热"}).json()
        assert body["top"][0]["name"] == "城乡建设" and body["top"][0]["confidence"] < 0.999
        assert body["preselect"] is None and body["threshold"] == 0.999

    def test_a_confident_category_missing_from_the_tree_is_not_preselected(self, world, settings, synthetic_model_file):
        settings.TONGXIN_CLASSIFIER_MODEL = synthetic_model_file
        body = post(client_for(world, "operator"), f"{API}/classify",
                    {"text": "在中心医院住院，医保报销比例太低", "title": "医院挂号排队太久"}).json()
        assert body["top"][0]["name"] == "卫生计生" and body["top"][0]["category"] is None
        assert body["preselect"] is None

    def test_bad_input_names_the_field(self, world, settings, synthetic_model_file):
        settings.TONGXIN_CLASSIFIER_MODEL = synthetic_model_file
        client = client_for(world, "operator")
        for payload, field in (({}, "text"), ({"text": ""}, "text"), ({"text": "   "}, "text"),
                               ({"text": "字" * (settings.TONGXIN_MAX_CONTENT_CHARS + 1)}, "text"),
                               ({"text": "暖气", "title": "题" * 201}, "title"), ({"text": "暖气", "extra": 1}, "extra")):
            response = post(client, f"{API}/classify", payload)
            assert response.status_code == 422, payload
            assert field in response.json()["fields"], response.json()

    def test_a_missing_model_file_is_a_clear_503(self, world, settings, tmp_path):
        settings.TONGXIN_CLASSIFIER_MODEL = str(tmp_path / "gone.npz")
        response = post(client_for(world, "operator"), f"{API}/classify", {"text": "暖气不热"})
        assert response.status_code == 503 and response.json()["code"] == "classifier_model_missing"


# --- duplicates -------------------------------------------------------------------------------------------

@pytest.mark.django_db
class TestDuplicates:
    def test_ranked_with_reasons_and_scoped(self, world):
        original = create(world)
        same_caller_near = create(world, content="小区门口的垃圾已经三天没人清理了，味道很大", lat=37.1003, lng=107.1002)
        other_caller_near = create(world, content="小区门口垃圾好几天没人清理", citizen_phone="13900000000",
                                   citizen_name="李四", lat=37.1006, lng=107.1004)
        unrelated_far = create(world, content="学校要求家长交资料费", category_code="C02", citizen_phone="13700000000",
                               lat=37.3, lng=107.3)
        withdrawn = create(world, content="小区门口垃圾三天没人清理，气味很大")
        s.work_order_withdraw(order_id=withdrawn.pk, actor=world.user("operator"), note="市民撤回")
        other_district = create(world, content="小区门口垃圾三天没人清理，气味很大", citizen_phone="13600000000", **POINT_B)

        response = client_for(world, "dispatcher").get(f"{API}/work-orders/{original.pk}/duplicates")
        assert response.status_code == 200
        candidates = response.json()["candidates"]
        ids = [c["id"] for c in candidates]
        assert ids[:2] == [same_caller_near.pk, other_caller_near.pk]
        assert withdrawn.pk not in ids and unrelated_far.pk not in ids and original.pk not in ids
        assert other_district.pk not in ids  # another district: not in the pool
        first = candidates[0]
        assert "同一来电人" in first["reasons"] and "同一分类" in first["reasons"]
        assert any(r.startswith("相距约") for r in first["reasons"])
        assert first["same_caller"] is True and first["distance_m"] < 100
        assert candidates[0]["score"] >= candidates[1]["score"]
        assert "citizen_phone" not in first  # no personal data in this answer

    def test_outside_the_jurisdiction_or_missing_is_404(self, world):
        order = create(world)
        assert client_for(world, "dispatcher_b").get(f"{API}/work-orders/{order.pk}/duplicates").status_code == 404
        assert client_for(world, "edu_handler").get(f"{API}/work-orders/{order.pk}/duplicates").status_code == 404
        assert client_for(world, "dispatcher").get(f"{API}/work-orders/999999/duplicates").status_code == 404
        assert Client().get(f"{API}/work-orders/{order.pk}/duplicates").status_code == 401

    def test_a_candidate_outside_the_actors_jurisdiction_is_not_shown(self, world):
        """A district-B dispatcher sees district-B orders only: a twin in district A stays hidden."""
        order = create(world, **POINT_B, category_code="C02", content="学校要求家长交资料费五百元")
        twin_in_a = create(world, category_code="C02", content="学校要求家长交资料费五百元")
        twin_in_b = create(world, **POINT_B, category_code="C02", content="学校要求家长交资料费五百元！")
        ids = [c["id"] for c in client_for(world, "dispatcher_b").get(f"{API}/work-orders/{order.pk}/duplicates").json()["candidates"]]
        assert twin_in_b.pk in ids and twin_in_a.pk not in ids


# --- department suggestion -----------------------------------------------------------------------------------

@pytest.mark.django_db
class TestDepartmentSuggestion:
    def test_catalogue_first(self, world):
        order = create(world)
        body = client_for(world, "dispatcher").get(f"{API}/work-orders/{order.pk}/department-suggestion").json()
        assert body["source"] == "catalogue"
        assert body["lead"]["code"] == "D-HOUSING-A" and [d["code"] for d in body["co"]] == ["D-WATER"]

    def test_history_where_the_catalogue_has_no_answer(self, world, health):
        # 城乡建设 in district B: the world's catalogue has a rule for district A only.
        closed_history(world, per_class=6, area=world.town_b, lead=world.water)
        drive(world, "closed")  # one order through every service, in district A (housing): another cell
        order = create(world, **POINT_B)
        body = client_for(world, "dispatcher").get(f"{API}/work-orders/{order.pk}/department-suggestion").json()
        assert body["source"] == "history", body
        assert body["lead"]["code"] == "D-WATER" and body["share"] == 1.0 and body["support"] == 6

    def test_nothing_to_go_on(self, world):
        order = create(world, **POINT_B)
        body = client_for(world, "dispatcher").get(f"{API}/work-orders/{order.pk}/department-suggestion").json()
        assert body["source"] == "none" and body["lead"] is None and "手动" in body["reason"]

    def test_scoped(self, world):
        order = create(world)
        assert client_for(world, "dispatcher_b").get(f"{API}/work-orders/{order.pk}/department-suggestion").status_code == 404


# --- hotspots and hot words ---------------------------------------------------------------------------------

@pytest.mark.django_db
class TestHotspots:
    def test_a_cluster_in_district_a_is_an_early_warning_for_its_leaders_only(self, world):
        for n, (dlat, dlng) in enumerate(((0, 0), (0.001, 0), (0, 0.001), (0.0015, 0.001))):
            create(world, content=f"小区门口垃圾{n + 2}天没人清理", citizen_phone=f"1381234567{n}",
                   lat=37.1 + dlat, lng=107.1 + dlng)
        create(world, category_code="C02", content="学校乱收费", citizen_phone="13700000000")  # alone: no cluster
        items = client_for(world, "leader").get(f"{API}/hotspots").json()
        assert len(items) == 1
        item = items[0]
        assert item["count"] == 4 and item["category"]["name"] == "垃圾清理"
        assert item["area"]["code"] == "150602001001G01" and len(item["orders"]) == 4
        assert "垃圾" in item["words"] or "清理" in item["words"]
        assert client_for(world, "leader_b").get(f"{API}/hotspots").json() == []
        assert client_for(world, "leader").get(f"{API}/hotspots", {"min_size": 5}).json() == []
        assert client_for(world, "leader").get(f"{API}/hotspots", {"area_code": "150603"}).json() == []

    def test_roles_and_bad_filters(self, world):
        assert client_for(world, "handler").get(f"{API}/hotspots").status_code == 403
        assert Client().get(f"{API}/hotspots").status_code == 401
        response = client_for(world, "leader").get(f"{API}/hotspots", {"area_code": "999999"})
        assert response.status_code == 422 and "area_code" in response.json()["fields"]
        assert client_for(world, "leader").get(f"{API}/hotspots", {"days": 0}).status_code == 422

    def test_hot_words_rise_against_the_baseline(self, world):
        from datetime import timedelta

        from django.utils import timezone

        now = timezone.now()
        for n in range(4):  # the baseline: heating, a month ago
            create(world, content=f"暖气不热，室温只有{12 + n}度", citizen_phone=f"1390000000{n}",
                   accepted_at=now - timedelta(days=20 + n))
        for n in range(3):  # this week: a burst water main, and heating as usual
            create(world, content=f"自来水管道破裂，路面积水{n + 1}天", citizen_phone=f"1370000000{n}",
                   accepted_at=now - timedelta(days=1 + n))
        create(world, content="暖气不热，室温很低", citizen_phone="13600000000", accepted_at=now - timedelta(days=2))
        body = client_for(world, "leader").get(f"{API}/hot-words", {"days": 7}).json()
        assert body["requests"] == 4 and body["baseline_requests"] == 4
        words = [w["word"] for w in body["words"]]
        assert words[0] in {"自来水", "管道", "破裂", "路面", "积水"}
        assert "暖气" not in words[:3]
        assert client_for(world, "leader_b").get(f"{API}/hot-words").json()["requests"] == 0
        assert client_for(world, "handler").get(f"{API}/hot-words").status_code == 403
