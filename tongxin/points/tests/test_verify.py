"""``tongxin points verify`` and the periodic report award."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tongxin.points import services
from tongxin.points.models import Entry, SweepCursor
from tongxin.points.selectors import balances_of

pytestmark = pytest.mark.django_db


def test_verify_passes_and_counts(town, capsys):
    services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:1")
    services.points_earn(resident=town.resident, rule_code="report_confirmed", cause_key="report:1")
    services.points_earn(resident=town.neighbour, rule_code="vote_cast", cause_key="ballot:1")
    call_command("points", "verify")
    assert "已核对 3 个积分账户，不一致 0 个" in capsys.readouterr().out


def test_verify_fails_on_a_corrupted_balance(town, capsys):
    services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:1")
    services.points_earn(resident=town.neighbour, rule_code="vote_cast", cause_key="ballot:1")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE points_account SET balance = balance + 7 WHERE resident_id = %s", [town.resident.pk])
    with pytest.raises(CommandError) as error:
        call_command("points", "verify")
    assert error.value.returncode == 1
    out = capsys.readouterr().out
    assert "存储余额 9，流水合计 2" in out and "已核对 2 个积分账户，不一致 1 个" in out


def test_verify_exit_status_through_the_cli(town, monkeypatch):
    """The real command line: exit 0 when sound, non-zero after corruption."""
    from django.db import connections

    from tongxin.cli import main

    # run_from_argv closes every connection when it ends: that would close the test's own transaction.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:1")
    main(["points", "verify"])  # no SystemExit
    with connection.cursor() as cursor:
        cursor.execute("UPDATE points_account SET balance = 0")
    with pytest.raises(SystemExit) as exit_info:
        main(["points", "verify"])
    assert exit_info.value.code == 1


@dataclass
class Confirmation:
    report_id: int
    resident_id: int
    household_id: int
    order_id: int
    confirmed_at: datetime


def test_report_sweep_pays_each_confirmation_once(town, monkeypatch):
    from django.utils import timezone

    calls = []
    now = timezone.now()
    confirmations = [Confirmation(1, town.resident.pk, town.resident.household_id, 101, now),
                     Confirmation(2, town.neighbour.pk, town.neighbour.household_id, 102, now)]

    def fake_confirmations(*, since, until):
        calls.append((since, until))
        return [c for c in confirmations if since <= c.confirmed_at <= until]

    residents = {r.pk: r for r in (town.resident, town.neighbour)}
    monkeypatch.setattr(services, "_report_confirmations", fake_confirmations)
    monkeypatch.setattr(services, "_resident_get", residents.get)
    assert services.report_awards_sweep(now=now) == {"seen": 2, "paid": 2}
    # the next run re-reads the overlap: the same confirmations again, paid nothing
    assert services.report_awards_sweep(now=now) == {"seen": 2, "paid": 0}
    assert balances_of(town.resident).material == 5 and balances_of(town.neighbour).material == 5
    assert Entry.objects.count() == 2
    cursor = SweepCursor.objects.get(name="report_confirmed")
    assert cursor.until == now and calls[1][0] == now - services.REPORT_SWEEP_OVERLAP
