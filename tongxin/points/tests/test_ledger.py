"""The ledger: rules, idempotency, the non-negative balance, reversals, approvals, appeals, append-only."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from tongxin.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongxin.points import services
from tongxin.points.choices import AppealStatus, AwardStatus, PointKind
from tongxin.points.models import Account, AppendOnlyError, Entry, PendingAward, Rule
from tongxin.points.selectors import balances_of, ledger_verify

pytestmark = pytest.mark.django_db


def test_vote_cast_pays_once_per_cause(town):
    first = services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:7")
    again = services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:7")
    assert first is not None and again is not None and first.pk == again.pk
    assert first.amount == 2 and first.idempotency_key == f"vote_cast:r{town.resident.pk}:ballot:7"
    assert balances_of(town.resident).virtue == 2
    assert Entry.objects.count() == 1
    services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:8")
    assert balances_of(town.resident).virtue == 4


def test_the_same_cause_pays_each_resident_once(town):
    """A cause shared by many residents (one topic, many voters) pays each of them, each once."""
    for resident in (town.resident, town.neighbour, town.resident):
        services.points_earn(resident=resident, rule_code="vote_cast", cause_key="topic:3")
    assert balances_of(town.resident).virtue == 2 and balances_of(town.neighbour).virtue == 2


def test_inactive_rule_pays_nothing(town):
    Rule.objects.filter(code="vote_cast").update(active=False)
    assert services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:1") is None
    assert Entry.objects.count() == 0


def test_unknown_rule_names_the_field(town):
    with pytest.raises(ValidationFailed) as error:
        services.points_earn(resident=town.resident, rule_code="nope", cause_key="x")
    assert "rule_code" in error.value.fields


def test_empty_cause_key_is_refused(town):
    with pytest.raises(ValidationFailed) as error:
        services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key=" ")
    assert "cause_key" in error.value.fields


def test_duplicate_key_is_refused_by_the_database(town):
    services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:1")
    account = Account.objects.get(resident=town.resident, kind=PointKind.VIRTUE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(account=account, amount=1, balance_after=3,
                             idempotency_key=f"vote_cast:r{town.resident.pk}:ballot:1")


def test_balance_check_constraint(town):
    services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:1")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE points_account SET balance = -1")


def test_entries_are_append_only(town):
    entry = services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:1")
    entry.amount = 100
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        Entry.objects.filter(pk=entry.pk).update(amount=5)
    with pytest.raises(AppendOnlyError):
        Entry.objects.all().delete()
    assert Entry.objects.get(pk=entry.pk).amount == 2


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgres_trigger_refuses_raw_update(town):
    entry = services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:1")
    from django.db import DatabaseError

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE points_entry SET amount = 99 WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM points_entry WHERE id = %s", [entry.pk])


def test_deduction_never_takes_the_balance_below_zero(town):
    services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key="ballot:1")  # virtue 2
    entry = services.points_award_by_staff(actor=town.world.user("grid_worker"), resident=town.resident,
                                           rule_code="uncivil_act", cause_label="乱扔垃圾")
    assert entry is not None and entry.amount == -2
    assert balances_of(town.resident).virtue == 0
    assert services.points_award_by_staff(actor=town.world.user("grid_worker"), resident=town.resident,
                                          rule_code="uncivil_act", cause_label="再次乱扔") is None


def test_staff_of_another_area_get_404(town):
    with pytest.raises(NotFound):
        services.points_award_by_staff(actor=town.world.user("leader_b"), resident=town.resident,
                                       rule_code="commendation", cause_label="见义勇为")
    with pytest.raises(NotFound):
        services.points_award_by_staff(actor=town.world.user("handler"), resident=town.resident,
                                       rule_code="commendation", cause_label="见义勇为")


def test_staff_award_needs_a_cause(town):
    with pytest.raises(ValidationFailed) as error:
        services.points_award_by_staff(actor=town.world.user("grid_worker"), resident=town.resident,
                                       rule_code="uncivil_act", cause_label="")
    assert "cause_label" in error.value.fields


def test_large_award_needs_a_second_person(town):
    proposer = town.world.user("grid_worker")
    Rule.objects.filter(code="commendation").update(amount=150)  # threshold 100
    result = services.points_award_by_staff(actor=proposer, resident=town.resident, rule_code="commendation",
                                            cause_label="见义勇为：救起落水儿童", cause_key="hero:1")
    assert result is None and Entry.objects.count() == 0
    award = PendingAward.objects.get()
    assert award.amount == 150 and award.status == AwardStatus.PENDING
    # proposing again is a no-op
    services.points_award_by_staff(actor=proposer, resident=town.resident, rule_code="commendation",
                                   cause_label="见义勇为", cause_key="hero:1")
    assert PendingAward.objects.count() == 1
    with pytest.raises(NotFound):  # not a committee member of this area
        services.award_decide(award=award, actor=town.world.user("leader_b"), approve=True)
    with pytest.raises(NotFound):  # a grid worker is no committee member
        services.award_decide(award=award, actor=proposer, approve=True)
    services.award_decide(award=award, actor=town.supervisor_a, approve=True, note="属实")
    award.refresh_from_db()
    assert award.status == AwardStatus.APPROVED and award.entry.amount == 150
    assert balances_of(town.resident).virtue == 150
    with pytest.raises(Conflict):
        services.award_decide(award=award, actor=town.world.user("leader"), approve=True)
    # a replay of the cause after approval returns the entry, pays nothing more
    services.points_award_by_staff(actor=proposer, resident=town.resident, rule_code="commendation",
                                   cause_label="见义勇为", cause_key="hero:1")
    assert balances_of(town.resident).virtue == 150


def test_the_proposer_cannot_approve_their_own_award(town):
    proposer = town.supervisor_a  # a committee member proposing
    Rule.objects.filter(code="commendation").update(amount=150)
    services.points_award_by_staff(actor=proposer, resident=town.resident, rule_code="commendation",
                                   cause_label="见义勇为", cause_key="hero:2")
    award = PendingAward.objects.get()
    with pytest.raises(PermissionDenied):
        services.award_decide(award=award, actor=proposer, approve=True)
    services.award_decide(award=award, actor=town.world.user("leader"), approve=False, note="材料不足")
    award.refresh_from_db()
    assert award.status == AwardStatus.REJECTED and award.entry is None
    assert balances_of(town.resident).virtue == 0


def test_reversal_is_a_new_entry_once(town):
    entry = services.points_earn(resident=town.resident, rule_code="report_confirmed", cause_key="report:1")
    reversal = services.entry_reverse(entry=entry, actor=town.world.user("grid_worker"), reason="重复诉求")
    assert reversal.amount == -5 and reversal.reverses_id == entry.pk
    assert balances_of(town.resident).material == 0
    with pytest.raises(Conflict):
        services.entry_reverse(entry=entry, actor=town.world.user("grid_worker"), reason="再来")
    with pytest.raises(Conflict):
        services.entry_reverse(entry=reversal, actor=town.world.user("grid_worker"), reason="冲正的冲正")
    assert Entry.objects.count() == 2


def test_reversal_refused_when_points_are_spent(town):
    entry = services.points_earn(resident=town.resident, rule_code="report_confirmed", cause_key="report:1")
    account = Account.objects.get(pk=entry.account_id)
    services._post(account=account, amount=-5, key="test:spend", label="spend")
    with pytest.raises(ValidationFailed) as error:
        services.entry_reverse(entry=entry, actor=None, reason="错误")
    assert "amount" in error.value.fields


def test_appeal_reversed_gives_points_back(town):
    for n in range(10):
        services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key=f"ballot:{n}")
    staff = town.world.user("grid_worker")
    deduction = services.points_award_by_staff(actor=staff, resident=town.resident, rule_code="uncivil_act",
                                               cause_label="占用消防通道")
    assert balances_of(town.resident).virtue == 0
    with pytest.raises(NotFound):  # another resident's deduction
        services.appeal_file(resident=town.neighbour, entry_id=deduction.pk, reason="不是我")
    with pytest.raises(ValidationFailed) as error:
        services.appeal_file(resident=town.resident, entry_id=deduction.pk, reason="")
    assert "reason" in error.value.fields
    appeal = services.appeal_file(resident=town.resident, entry_id=deduction.pk, reason="车是邻居的")
    with pytest.raises(Conflict):
        services.appeal_file(resident=town.resident, entry_id=deduction.pk, reason="再申诉")
    with pytest.raises(NotFound):
        services.appeal_decide(appeal=appeal, actor=town.world.user("leader_b"), reverse=True, note="x")
    services.appeal_decide(appeal=appeal, actor=staff, reverse=True, note="核实为误记")
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.REVERSED
    assert balances_of(town.resident).virtue == 20
    with pytest.raises(Conflict):
        services.appeal_decide(appeal=appeal, actor=staff, reverse=False, note="再复核")


def test_appeal_upheld_changes_nothing(town):
    for n in range(10):
        services.points_earn(resident=town.resident, rule_code="vote_cast", cause_key=f"ballot:{n}")
    staff = town.world.user("grid_worker")
    deduction = services.points_award_by_staff(actor=staff, resident=town.resident, rule_code="uncivil_act",
                                               cause_label="高空抛物")
    earned = Entry.objects.filter(amount__gt=0).first()
    with pytest.raises(ValidationFailed):
        services.appeal_file(resident=town.resident, entry_id=earned.pk, reason="这不是扣分")
    appeal = services.appeal_file(resident=town.resident, entry_id=deduction.pk, reason="冤枉")
    services.appeal_decide(appeal=appeal, actor=staff, reverse=False, note="有监控为证")
    assert balances_of(town.resident).virtue == 0
    assert ledger_verify() == (1, [])
