"""Concurrency on PostgreSQL with real threads: two mediators acting on one case at once, and case
numbers allocated at once. Skipped on SQLite (set DATABASE_URL to a PostgreSQL server)."""

from __future__ import annotations

import pytest
from django.db import connection

from tongxin.core.errors import Conflict
from tongxin.mediation import services
from tongxin.mediation.models import CaseEvent, DisputeCase
from tongxin.workorders.tests.test_concurrency_pg import run_together

from .conftest import new_case

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks; set DATABASE_URL"),
    pytest.mark.django_db(transaction=True),
]


def test_two_accepts_at_once_one_wins(mw):
    case = new_case(mw)
    services.case_escalate(case_id=case.pk, actor=mw.user("m_comm"), to_org_id=mw.town.pk, reason="上报")
    town = mw.user("m_town")
    results = run_together([lambda: services.case_handover_accept(case_id=case.pk, actor=town),
                            lambda: services.case_handover_reject(case_id=case.pk, actor=town, note="退回")])
    outcomes = sorted(kind for kind, _value in results)
    assert outcomes == ["error", "ok"], results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, Conflict)  # the loser sees the winner's change: an illegal transition now
    assert CaseEvent.objects.filter(case=case, action__in=["accept_handover", "reject_handover"]).count() == 1


def test_numbers_are_unique_under_concurrent_intake(mw):
    results = run_together([lambda: new_case(mw).number for _ in range(4)])
    assert all(kind == "ok" for kind, _v in results), results
    numbers = [value for _k, value in results]
    assert len(set(numbers)) == 4 and DisputeCase.objects.count() == 4
