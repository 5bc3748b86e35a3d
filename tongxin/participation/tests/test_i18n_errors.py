"""A topic with no title, asked in English: the label and the reason are English, code and field the same."""

from __future__ import annotations

import pytest

from .test_api import body, staff

pytestmark = pytest.mark.django_db


def test_a_topic_without_title_answers_in_english(world, estate):
    client = staff(world, "grid_worker")
    english = client.post("/api/v1/participation/topics", body(world, title=""), content_type="application/json",
                          headers={"accept-language": "en"})
    chinese = client.post("/api/v1/participation/topics", body(world, title=""), content_type="application/json")
    assert english.status_code == chinese.status_code == 422
    assert english.json()["fields"] == {"title": "Title is required"}
    assert chinese.json()["fields"] == {"title": "标题不能为空"}
    assert english.json()["code"] == chinese.json()["code"] == "validation_error"
