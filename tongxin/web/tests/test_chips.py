"""The category chips beside a report's text (tongxin.web.chips), shared by the grid worker's report page
and the resident's 随手拍: a real model trained on the synthetic corpus, no model, a broken model file."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from tongxin.insight import selectors as insight_selectors
from tongxin.insight.tests import conftest as insight_fixtures
from tongxin.testing import PASSWORD
from tongxin.web.chips import MAX_CHIPS, category_chips

# The insight tests' fixtures: a model trained on their synthetic corpus (once a session), and, around
# every test here (autouse), no model configured and fresh classifier caches.
synthetic_model_file = insight_fixtures.synthetic_model_file
_clean_insight_caches = insight_fixtures._clean_insight_caches

HEATING = "阳光花园3号楼暖气不热，物业一直不来维修"


@pytest.mark.django_db
def test_chips_are_the_top_categories_that_exist_in_the_tree(world, settings, synthetic_model_file):
    settings.TONGXIN_CLASSIFIER_MODEL = synthetic_model_file
    chips = category_chips(f"  {HEATING}  ")
    assert 1 <= len(chips) <= MAX_CHIPS
    assert chips[0]["category"]["name"] == "城乡建设"  # the heating complaint, mapped onto the world's tree
    assert all(chip["category"] for chip in chips)  # 卫生计生 and the like, not in the tree, are left out
    top = insight_selectors.classify(text=HEATING)["top"]
    assert [c["name"] for c in chips] == [t["name"] for t in top if t["category"]][:MAX_CHIPS]


@pytest.mark.django_db
def test_a_short_text_asks_nothing(world, settings, synthetic_model_file, django_assert_num_queries):
    settings.TONGXIN_CLASSIFIER_MODEL = synthetic_model_file
    with django_assert_num_queries(0):  # the classifier is not even looked up
        assert category_chips("暖气不热") == []
        assert category_chips(None) == []


@pytest.mark.django_db
def test_without_a_model_there_are_no_chips(world):
    assert category_chips(HEATING) == []


@pytest.mark.django_db
def test_a_broken_model_file_gives_no_chips_and_is_logged(world, settings, tmp_path, caplog):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a model at all")  # ModelFileError: not the "no model" case, a real failure
    settings.TONGXIN_CLASSIFIER_MODEL = str(broken)
    logger = logging.getLogger("tongxin.web.chips")  # "tongxin" does not propagate to the root logger
    logger.addHandler(caplog.handler)
    try:
        assert category_chips(HEATING) == []
    finally:
        logger.removeHandler(caplog.handler)
    assert [r.getMessage() for r in caplog.records if r.name == "tongxin.web.chips"] == ["category suggestion failed"]


@pytest.mark.django_db
def test_both_suggest_pages_show_the_same_chips(world, settings, synthetic_model_file):
    """The grid worker's page reads ``text``; the resident's page (tongxin.residents) ``content``."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TONGXIN_CLASSIFIER_MODEL = synthetic_model_file
    client = Client()
    assert client.login(username="grid_worker", password=PASSWORD)
    html = client.get("/grid/reports/suggest/", {"text": HEATING}).content.decode()
    assert "data-category-code" in html
    codes = [chip["category"]["code"] for chip in category_chips(HEATING)]
    assert all(f'data-category-code="{code}"' in html for code in codes)
    assert "data-category-code" not in client.get("/grid/reports/suggest/", {"text": "短"}).content.decode()
