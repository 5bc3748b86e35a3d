"""The pure parts: duplicate ranking, the labelled set's precision and recall, hotspot clustering,
hot words, learned routing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tongxin.insight.duplicates import (
    DuplicateParams,
    Request,
    haversine_m,
    rank_duplicates,
    text_similarities,
)
from tongxin.insight.evaluation import labelled_set, measure
from tongxin.insight.hotspots import Message, Point, cluster_points, text_topics
from tongxin.insight.hotwords import hot_words, words
from tongxin.insight.suggest import LearnedRouting, wilson_lower_bound

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_haversine_known_distances():
    assert haversine_m(39.8, 109.9, 39.8, 109.9) == 0
    assert haversine_m(39.0, 110.0, 40.0, 110.0) == pytest.approx(111_195, rel=1e-3)  # one degree of latitude
    assert haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_195, rel=1e-3)


def test_text_similarity_is_a_cosine():
    sims = text_similarities("小区门口垃圾三天没人清理", ["小区门口垃圾三天没人清理！", "学校乱收费", ""])
    assert sims[0] == pytest.approx(1.0) and sims[1] == 0 and sims[2] == 0


def test_ranking_orders_by_evidence_and_says_why():
    target = Request(id=1, text="天骄路路灯坏了一排，晚上很黑", at=T0, phone="12000000001", lat=39.8, lng=109.9, category_id=7)
    same_caller = Request(id=2, text="天骄路的路灯坏了一排，夜里很黑", at=T0 - timedelta(hours=5), phone="12000000001",
                          lat=39.8005, lng=109.9, category_id=7)
    neighbour = Request(id=3, text="天骄路路灯坏了好几盏，晚上很黑", at=T0 - timedelta(hours=30), phone="12000000002",
                        lat=39.8012, lng=109.9, category_id=7)
    same_words_far = Request(id=4, text="天骄路路灯坏了一排，晚上很黑", at=T0 - timedelta(hours=2), phone="12000000003",
                             lat=39.9, lng=110.0, category_id=7)
    other_problem_here = Request(id=5, text="楼下烧烤摊油烟很大", at=T0 - timedelta(hours=1), phone="12000000004",
                                 lat=39.8, lng=109.9, category_id=9)
    too_old = Request(id=6, text="天骄路路灯坏了一排，晚上很黑", at=T0 - timedelta(days=8), phone="12000000001",
                      lat=39.8, lng=109.9, category_id=7)
    found = rank_duplicates(target, [too_old, other_problem_here, same_words_far, neighbour, same_caller, target])
    assert [c.request.id for c in found] == [2, 3]
    first = found[0]
    assert first.reasons[0] == "同一来电人" and any(r.startswith("相距约 56 米") for r in first.reasons)
    assert any(r.startswith("诉求内容相似") for r in first.reasons) and "同一分类" in first.reasons
    assert first.score > found[1].score >= DuplicateParams().min_score
    # Without coordinates, the same grid stands for the same place.
    a = Request(id=1, text="暖气不热", at=T0, grid_id=5, category_id=1)
    b = Request(id=2, text="暖气不热，室温太低", at=T0, grid_id=5, category_id=1)
    assert "同一网格" in rank_duplicates(a, [b])[0].reasons


def test_labelled_set_held_out_precision_and_recall():
    """The figures of bench/duplicates.py (docs/insight.md) on the held-out half, with a margin."""
    data = labelled_set(400, seed=8)
    held = {i for i in set(data.incident_of.values()) if i % 2 == 1}
    result = measure(data, incidents=held)
    assert result["true_pairs"] > 150
    assert result["precision"] >= 0.85 and result["recall"] >= 0.95 and result["top1"] >= 0.95, result


def test_cluster_points_links_similar_requests_that_are_near():
    base = dict(at=T0, category_id=1)
    points = [
        Point(id=1, lat=39.8, lng=109.9, **base), Point(id=2, lat=39.8030, lng=109.9, **base),  # 334 m
        Point(id=3, lat=39.8060, lng=109.9, **base),  # chained through 2
        Point(id=4, lat=39.8, lng=109.9, at=T0, category_id=2),  # another category, same place
        Point(id=5, lat=39.9, lng=110.0, **base),  # far away
        Point(id=6, at=T0, category_id=1, grid_id=77, text="x"), Point(id=7, at=T0, category_id=1, grid_id=77, text="y"),
    ]
    groups = cluster_points(points, radius_m=400, min_size=2)
    assert sorted(sorted(points[i].id for i in g) for g in groups) == [[1, 2, 3], [6, 7]]
    assert cluster_points(points, radius_m=200, min_size=2) == [[5, 6]]  # only the grid pair remains


def test_text_topics_group_paraphrases_and_rank_by_heat():
    def m(i, subject, likes=0):
        return Message(id=str(i), subject=subject, body="", at=T0 + timedelta(days=i), likes=likes)

    messages = [m(1, "丽发新城小区旁边搅拌站噪音扰民"), m(2, "丽发新城搅拌站噪音扰民严重", 3), m(3, "丽发新城小区搅拌站灰尘噪音"),
                m(4, "伊景园滨河苑捆绑销售车位", 4), m(5, "投诉伊景园滨河苑捆绑销售车位"), m(6, "学校食堂饭菜太贵")]
    topics = text_topics(messages, threshold=0.25)
    assert [t.count for t in topics] == [3, 2]
    assert topics[0].likes == 3 and topics[1].likes == 4
    assert topics[0].heat == pytest.approx(3 + 0.5 * 2)


def test_hot_words_prefer_what_rose():
    period = ["自来水管道破裂", "自来水管道漏水", "暖气不热", "自来水发黄"]
    baseline = ["暖气不热", "暖气不热室温低", "暖气漏水", "路灯坏了"]
    found = hot_words(period, baseline, top=3)
    assert found[0].word.startswith("自来水") and found[0].count >= 2 and found[0].baseline_count == 0
    assert "暖气" not in [w.word for w in found]
    assert "问题" not in words("反映一个问题：暖气不热") and "暖气" in words("反映一个问题：暖气不热")
    assert hot_words([], []) == []


def test_learned_routing_prefers_the_surest_cell():
    routing = LearnedRouting(category_paths={10: [1, 10], 1: [1]})
    # Category 10 in town /100/200/: always department 7; elsewhere in the city department 8 mostly.
    for _ in range(5):
        routing.add(10, "/100/200/", 7)
    for _ in range(40):
        routing.add(10, "/100/300/", 8)
    assert routing.suggest(10, "/100/200/").department_id == 7
    assert routing.suggest(10, "/100/300/").department_id == 8
    suggestion = routing.suggest(10, "/100/400/")  # a town never seen: the city-wide majority
    assert suggestion.department_id == 8 and suggestion.support == 45 and suggestion.share == pytest.approx(40 / 45, abs=1e-3)
    assert routing.suggest(99, "/100/200/") is None  # an unknown category: no guess
    assert wilson_lower_bound(40, 45) > wilson_lower_bound(5, 5) > wilson_lower_bound(2, 2)
    # A mixed cell (no department handles a clear majority) gives no answer.
    mixed = LearnedRouting(category_paths={10: [10]})
    for department in (1, 2, 3, 4, 5, 1, 2, 3, 4, 5):
        mixed.add(10, "/100/", department)
    assert mixed.suggest(10, "/100/") is None
