"""The clerk's check with a bad code, in English: the English reason under the same code and field."""

from __future__ import annotations

import pytest

from tongxin.testing import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_bad_priority_code_answers_in_english(client, town):
    assert client.login(username="clerk", password=PASSWORD)
    english = client.post("/api/v1/points/checks", {"token": "x"}, content_type="application/json",
                          headers={"accept-language": "en"})
    chinese = client.post("/api/v1/points/checks", {"token": "x"}, content_type="application/json")
    assert english.status_code == chinese.status_code == 422
    assert english.json()["code"] == chinese.json()["code"] == "validation_error"
    assert set(english.json()["fields"]) == set(chinese.json()["fields"]) == {"token"}
    assert english.json()["fields"] == {
        "token": "The priority service code is invalid or expired; ask the resident to refresh and show it again"}
    assert chinese.json()["fields"] == {"token": "优先服务码无效或已过期，请居民刷新后重新出示"}
