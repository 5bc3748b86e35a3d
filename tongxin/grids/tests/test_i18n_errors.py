"""A grid worker's bad request in English: the English reason, the same code and field (docs/i18n.md)."""

from __future__ import annotations

from tongxin.workorders.tests.test_api import client_for

API = "/api/v1/grids"


def test_patrol_in_someone_elses_grid_answers_in_english(gw):
    client = client_for(gw.w, "grid_worker")
    body = {"grid_id": gw.grid_b.pk, "lat": 37.1, "lng": 107.1}
    english = client.post(f"{API}/patrols", body, content_type="application/json", headers={"accept-language": "en"})
    chinese = client.post(f"{API}/patrols", body, content_type="application/json")
    assert english.status_code == chinese.status_code == 422
    assert english.json()["fields"] == {"grid_id": "You are not responsible for this grid"}
    assert chinese.json()["fields"] == {"grid_id": "该网格不是您负责的网格"}
    assert english.json()["code"] == chinese.json()["code"] == "validation_error"
