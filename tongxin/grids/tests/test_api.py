"""The grids API over HTTP: a patrol, reports (multipart), opinions, numbers; the one error shape,
validation naming the field, 404 outside the jurisdiction."""

from __future__ import annotations

from tongxin.workorders.tests.test_api import assert_error, bearer_client, client_for, post

from .conftest import jpeg

API = "/api/v1/grids"


def test_patrol_over_http(gw):
    c = client_for(gw.w, "grid_worker")
    assert [g["name"] for g in c.get(f"{API}/mine").json()] == ["甲一网格"]
    r = post(c, f"{API}/patrols", {"grid_id": gw.w.grid_a.pk, "lat": 37.1, "lng": 107.1})
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    r = post(c, f"{API}/patrols/{pid}/checkins", {"lat": 37.11, "lng": 107.1, "datum": "wgs84", "accuracy": 9})
    assert r.status_code == 201 and r.json()["inside_grid"] is True
    assert_error(post(c, f"{API}/patrols/{pid}/checkins", {"lat": 37.1}), 422, "validation_error", "lng")
    assert_error(post(c, f"{API}/patrols/{pid}/checkins", {"lat": 37.1, "lng": 107.1, "datum": "x"}), 422, field="datum")
    r = post(c, f"{API}/patrols/{pid}/end", {"note": "ok"})
    assert r.status_code == 200 and r.json()["ended_at"] and len(r.json()["checkins"]) == 2
    assert 1000 < r.json()["distance_m"] < 1300
    other = bearer_client(gw.user("grid_worker_b"))
    assert_error(other.get(f"{API}/patrols/{pid}"), 404, "not_found")
    assert_error(post(c, f"{API}/patrols/{pid}/end", {}), 409)
    assert_error(post(c, f"{API}/patrols", {"grid_id": gw.grid_b.pk}), 422, field="grid_id")


def test_reports_over_http(gw):
    c = client_for(gw.w, "grid_worker")
    r = c.post(f"{API}/reports", {"text": "井盖缺失", "lat": "37.1", "lng": "107.1", "photo": jpeg()})
    assert r.status_code == 201, r.content
    report = r.json()
    assert report["status"] == "open" and report["photo_url"].endswith("/photo/photo/")
    assert c.get(report["photo_url"]).status_code == 200
    assert_error(c.post(f"{API}/reports", {"text": "井盖缺失"}), 422, field="photo")
    r = c.post(f"{API}/reports/{report['id']}/settle", {"result_text": "已补装井盖", "result_photo": jpeg()})
    assert r.status_code == 200 and r.json()["status"] == "settled"
    r = c.post(f"{API}/reports", {"text": "大面积积水", "photo": jpeg()})
    rid = r.json()["id"]
    assert_error(client_for(gw.w, "grid_worker_b").get(f"{API}/reports/{rid}"), 404)
    assert_error(post(c, f"{API}/reports/{rid}/raise", {"kind": "praise"}), 422, field="kind")
    r = post(c, f"{API}/reports/{rid}/raise", {"kind": "help", "category_code": "C010101"})
    assert r.status_code == 200 and r.json()["work_order_number"]


def test_opinions_and_numbers_over_http(gw):
    c = client_for(gw.w, "grid_worker")
    assert post(c, f"{API}/opinions", {"grid_id": gw.w.grid_a.pk, "topic_code": "other", "text": "建议增设座椅"}).status_code == 201
    assert_error(post(c, f"{API}/opinions", {"grid_id": gw.w.grid_a.pk, "topic_code": "nope", "text": "x"}), 422,
                 field="topic_code")
    leader = client_for(gw.w, "leader")
    assert [o["text"] for o in leader.get(f"{API}/opinions", {"q": "座椅"}).json()] == ["建议增设座椅"]
    assert leader.get(f"{API}/opinions", {"area_code": gw.w.district_b.code}).json() == []
    assert_error(leader.get(f"{API}/opinions", {"area_code": "nope"}), 422, field="area_code")
    assert client_for(gw.w, "leader_b").get(f"{API}/opinions").json() == []
    assert_error(client_for(gw.w, "dispatcher").get(f"{API}/opinions"), 403)
    rows = leader.get(f"{API}/numbers", {"area_code": gw.w.community_a.code}).json()
    assert [r["area_name"] for r in rows] == ["甲社区", "甲一网格", "甲二网格"]
    assert rows[0]["coverage"] == 0.0 and rows[0]["raised"] == 0
    assert_error(client_for(gw.w, "leader_b").get(f"{API}/numbers", {"area_code": gw.w.community_a.code}), 404)
    assert_error(leader.get(f"{API}/numbers", {"area_code": gw.w.city.code, "date_from": "2026-13-01"}), 422,
                 field="date_from")
    assert_error(leader.get(f"{API}/numbers", {"area_code": gw.w.city.code, "date_from": "2026-11-02",
                                               "date_to": "2026-11-01"}), 422, field="date_to")
