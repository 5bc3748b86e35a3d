"""The 95/95/95/100 numbers on constructed data with known answers (definitions: docs/mediation.md).

| case | received at | path | outcome |
|---|---|---|---|
| c1  | community | —                        | agreed at community |
| c2  | community | → town                   | agreed at town |
| c3  | community | → town → district        | agreed at district |
| c4  | community | —                        | failed, guided to litigation |
| c5  | town      | —                        | agreed at town |
| c6  | town      | —                        | failed, guided to petition |
| c7  | district  | (source: petition office) | agreed at district |
| c8  | community | —                        | withdrawn (never counted) |
| c9  | community | —                        | still mediating (not concluded) |
| c10 | community | —                        | agreed, followed up, closed as stable |
| b1  | town B    | —                        | agreed (outside district A) |
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tongxin.mediation import selectors, services
from tongxin.mediation.choices import Level, Target
from tongxin.mediation.models import DisputeCase

from .conftest import new_case


def _up(mw, case, chain):
    users = {"town": "m_town", "district": "m_district", "city": "m_city"}
    orgs = {"town": mw.town, "district": mw.district, "city": mw.city}
    by = {"community": "m_comm", "town": "m_town", "district": "m_district"}[case.level]
    for level in chain:
        services.case_escalate(case_id=case.pk, actor=mw.user(by), to_org_id=orgs[level].pk, reason="上报")
        case = services.case_handover_accept(case_id=case.pk, actor=mw.user(users[level]))
        by = users[level]
    return case, by


def _agree(mw, case, by):
    services.case_agree(case_id=case.pk, actor=mw.user(by), text="协议")


def _fail(mw, case, by, guidance):
    services.case_fail(case_id=case.pk, actor=mw.user(by), guidance=guidance, note="调解不成")


@pytest.fixture
def cases(mw):
    made = {}
    for name in ("c1", "c2", "c3", "c4", "c8", "c9", "c10"):
        made[name] = new_case(mw, title=name)
        services.case_mediate(case_id=made[name].pk, actor=mw.user("m_comm"))
    for name in ("c5", "c6"):
        made[name] = new_case(mw, title=name, org=mw.town, by="m_town")
        services.case_mediate(case_id=made[name].pk, actor=mw.user("m_town"))
    made["c7"] = new_case(mw, title="c7", org=mw.district, by="m_district", source="petition")
    made["b1"] = new_case(mw, title="b1", org=mw.town_b, by="m_town_b")
    services.case_mediate(case_id=made["c7"].pk, actor=mw.user("m_district"))
    services.case_mediate(case_id=made["b1"].pk, actor=mw.user("m_town_b"))
    _agree(mw, made["c1"], "m_comm")
    _agree(mw, *_up(mw, made["c2"], ["town"]))
    _agree(mw, *_up(mw, made["c3"], ["town", "district"]))
    _fail(mw, made["c4"], "m_comm", "litigation")
    _agree(mw, made["c5"], "m_town")
    _fail(mw, made["c6"], "m_town", "petition")
    _agree(mw, made["c7"], "m_district")
    services.case_withdraw(case_id=made["c8"].pk, actor=mw.user("m_comm"), note="撤回")
    _agree(mw, made["c10"], "m_comm")
    services.case_follow_up(case_id=made["c10"].pk, actor=mw.user("m_comm"), note="稳定")
    services.case_close(case_id=made["c10"].pk, actor=mw.user("m_comm"))
    _agree(mw, made["b1"], "m_town_b")
    return made


def _targets(numbers):
    return {t["key"]: (t["numerator"], t["denominator"]) for t in numbers["targets"]}


def test_the_four_targets_in_district_a(mw, cases):
    n = selectors.mediation_numbers(actor=mw.user("leader"), area_path=mw.w.district_a.path)
    assert n["received"] == 10 and n["concluded"] == 8 and n["settled"] == 6
    assert n["success_rate"] == 0.75
    assert _targets(n) == {
        "within_community": (2, 5),   # c1, c10 / c1 c2 c3 c4 c10
        "within_town": (4, 7),        # c1 c2 c5 c10 / + c3 c4 c6
        "before_litigation": (5, 7),  # settled, c7 (already a petition) left out of both
        "within_city": (7, 8),        # all but c6 (guided to petition)
    }
    rates = {t["key"]: t["rate"] for t in n["targets"]}
    assert rates["within_community"] == 0.4 and rates["within_city"] == 0.875
    assert not any(t["met"] for t in n["targets"])


def test_city_wide_and_by_level(mw, cases):
    n = selectors.mediation_numbers(actor=mw.user("leader"))
    assert n["received"] == 11 and n["concluded"] == 9
    assert _targets(n)["within_town"] == (5, 8)
    rows = {r["level"]: r for r in selectors.numbers_by_level(actor=mw.user("leader"))}
    assert rows[Level.COMMUNITY]["received"] == 7 and rows[Level.COMMUNITY]["concluded"] == 5
    assert rows[Level.TOWN]["received"] == 3 and _targets(rows[Level.TOWN])["within_town"] == (2, 3)
    assert rows[Level.DISTRICT]["received"] == 1 and _targets(rows[Level.DISTRICT])["before_litigation"] == (0, 0)
    assert rows[Level.CITY]["received"] == 0


def test_jurisdiction_limits_the_numbers(mw, cases):
    assert selectors.mediation_numbers(actor=mw.user("leader_b"))["received"] == 1
    assert selectors.mediation_numbers(actor=mw.user("dispatcher"))["received"] == 0


def test_period_by_conclusion_date(mw, cases):
    last_year = timezone.now() - timedelta(days=400)
    DisputeCase.objects.filter(pk=cases["c4"].pk).update(concluded_at=last_year, received_at=last_year)
    today = timezone.localdate()
    n = selectors.mediation_numbers(actor=mw.user("leader"), area_path=mw.w.district_a.path,
                                    date_from=today - timedelta(days=30), date_to=today)
    assert n["received"] == 9 and n["concluded"] == 7
    assert _targets(n)["within_community"] == (2, 4)
    old = selectors.mediation_numbers(actor=mw.user("leader"), area_path=mw.w.district_a.path,
                                      date_from=date(2000, 1, 1), date_to=timezone.localdate(last_year))
    assert old["concluded"] == 1 and _targets(old)["within_city"] == (1, 1)


def test_case_list_filters_by_target(mw, cases):
    def titles(**kw):
        f = selectors.CaseFilters(area_path=mw.w.district_a.path, **kw)
        return sorted(c.title for c in selectors.case_list(actor=mw.user("leader"), filters=f))

    assert titles(target=Target.WITHIN_COMMUNITY) == ["c1", "c10", "c2", "c3", "c4"]
    assert titles(target=Target.WITHIN_COMMUNITY, met=True) == ["c1", "c10"]
    assert titles(target=Target.WITHIN_COMMUNITY, met=False) == ["c2", "c3", "c4"]
    assert titles(target=Target.WITHIN_CITY, met=False) == ["c6"]
    assert titles(target=Target.BEFORE_LITIGATION, met=False) == ["c4", "c6"]
    assert titles(level=Level.TOWN) == ["c5", "c6"]
    assert titles(status="mediating") == ["c9"]


def test_by_area(mw, cases):
    rows = {r["code"]: r for r in selectors.numbers_by_area(actor=mw.user("leader"))}
    assert set(rows) == {mw.w.district_a.code, mw.w.district_b.code}
    assert rows[mw.w.district_a.code]["received"] == 10 and rows[mw.w.district_b.code]["received"] == 1
    assert _targets(rows[mw.w.district_a.code])["within_community"] == (2, 5)
    towns = selectors.numbers_by_area(actor=mw.user("leader"), area_path=mw.w.district_a.path)
    assert [(r["label"], r["received"]) for r in towns] == [("甲街道", 9)]  # c7 happened at district level
    assert selectors.numbers_by_area(actor=mw.user("m_town_b")) == []  # town B has no communities here
