"""Jurisdiction: grid workers see their grids only; leaders read their subtree; others see nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tongxin.grids import selectors, services
from tongxin.grids.selectors import OpinionFilters

from .conftest import jpeg


@pytest.fixture
def items(gw):
    a = gw.user("grid_worker")
    b = gw.user("grid_worker_b")
    pa = services.patrol_start(actor=a, grid_id=gw.w.grid_a.pk)
    pb = services.patrol_start(actor=b, grid_id=gw.grid_b.pk)
    ra = services.field_report_create(actor=a, grid_id=gw.w.grid_a.pk, text="甲", photo=jpeg())
    rb = services.field_report_create(actor=b, grid_id=gw.grid_b.pk, text="乙", photo=jpeg())
    oa = services.opinion_create(actor=a, grid_id=gw.w.grid_a.pk, topic_code="security", text="夜间照明不足")
    ob = services.opinion_create(actor=b, grid_id=gw.grid_b.pk, topic_code="property", text="物业费公示")
    return {"a": (pa, ra, oa), "b": (pb, rb, ob)}


def visible(actor, items):
    seen = set()
    for key, (p, r, o) in items.items():
        got = (selectors.patrol_get(actor=actor, patrol_id=p.pk), selectors.report_get(actor=actor, report_id=r.pk),
               selectors.opinion_get(actor=actor, opinion_id=o.pk))
        assert all(got) or not any(got), (actor, key)
        if all(got):
            seen.add(key)
    return seen


@pytest.mark.parametrize(("user", "expected"), [
    ("grid_worker", {"a"}), ("grid_worker_c", {"a"}), ("grid_worker_b", {"b"}), ("leader", {"a", "b"}),
    ("leader_b", {"b"}), ("admin", {"a", "b"}), ("dispatcher", set()), ("handler", set()), ("nobody", set()),
])
def test_visibility_matrix(gw, items, user, expected):
    assert visible(gw.user(user), items) == expected


def test_worker_grids_and_grid_get(gw):
    assert list(selectors.worker_grids(gw.user("grid_worker"))) == [gw.w.grid_a]
    assert list(selectors.worker_grids(gw.user("grid_worker_c"))) == [gw.w.grid_a, gw.grid_a2]
    assert list(selectors.worker_grids(gw.user("leader"))) == []
    assert selectors.grid_get(actor=gw.user("grid_worker_b"), grid_id=gw.w.grid_a.pk) is None
    assert selectors.grid_get(actor=gw.user("leader"), grid_id=gw.grid_b.pk) == gw.grid_b
    assert selectors.grid_get(actor=gw.user("leader_b"), grid_id=gw.w.grid_a.pk) is None
    assert selectors.grid_get(actor=gw.user("grid_worker"), grid_id=gw.w.community_a.pk) is None  # not a grid


def test_opinion_filters(gw, items):
    leader = gw.user("leader")

    def texts(**kw):
        return sorted(o.text for o in selectors.opinion_list(actor=leader, filters=OpinionFilters(**kw)))

    assert texts() == ["夜间照明不足", "物业费公示"]
    assert texts(q="照明") == ["夜间照明不足"]
    assert texts(topic_code="property") == ["物业费公示"]
    assert texts(area_path=gw.w.district_a.path) == ["夜间照明不足"]
    today = timezone.localdate(items["a"][2].created_at)  # the local day, not the UTC one
    assert texts(date_from=today, date_to=today) == ["夜间照明不足", "物业费公示"]
    from datetime import timedelta

    assert texts(date_to=today - timedelta(days=1)) == []
    # the district-B leader filtering by district A still sees nothing of it
    assert list(selectors.opinion_list(actor=gw.user("leader_b"),
                                       filters=OpinionFilters(area_path=gw.w.district_a.path))) == []


def test_roster_adds_served_grids_and_shows_masked_phones(gw, client):
    from tongxin.regions.services import grid_member_assign
    from tongxin.testing import PASSWORD

    worker = gw.user("grid_worker")
    grid_member_assign(grid=gw.grid_b, name="王五", phone="13812345678", duty="part_time", user=worker)
    assert list(selectors.worker_grids(worker)) == [gw.w.grid_a, gw.grid_b]
    other = services.field_report_create(actor=gw.user("grid_worker_b"), grid_id=gw.grid_b.pk, text="乙", photo=jpeg())
    assert selectors.report_get(actor=worker, report_id=other.pk) == other
    assert client.login(username="grid_worker", password=PASSWORD)
    body = client.get(f"/grid/g/{gw.grid_b.pk}/").content.decode()
    assert "王五" in body and "138****5678" in body and "13812345678" not in body and "兼职网格员" in body
