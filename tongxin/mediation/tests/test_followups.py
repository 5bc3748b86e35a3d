"""The follow-up sweep: reminders before, overdue notices after (to the owner and the centre above);
idempotent, and a dry run writes nothing."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tongxin.accounts.models import Notification
from tongxin.mediation import selectors, services
from tongxin.mediation.followups import follow_up_sweep

from .conftest import new_case


def _agreed(mw):
    case = new_case(mw)
    services.case_mediate(case_id=case.pk, actor=mw.user("m_comm"))
    return services.case_agree(case_id=case.pk, actor=mw.user("m_comm"), text="协议")


def test_nothing_due_nothing_sent(mw):
    _agreed(mw)
    report = follow_up_sweep()
    assert report.reminders == report.overdue == [] and report.notifications == 0


def test_reminder_then_overdue_idempotent_and_dry_run(mw):
    case = _agreed(mw)
    due = case.next_follow_up_at
    dry = follow_up_sweep(now=due - timedelta(hours=3), dry_run=True)
    assert dry.reminders == [case.number] and dry.notifications == 0
    assert not Notification.objects.exists()
    first = follow_up_sweep(now=due - timedelta(hours=3))
    assert first.notifications == 1
    assert Notification.objects.get().recipient == mw.user("m_comm")
    again = follow_up_sweep(now=due - timedelta(hours=2))
    assert again.reminders == [case.number] and again.notifications == 0  # same due time: same key
    late = follow_up_sweep(now=due + timedelta(days=1))
    assert late.overdue == [case.number] and late.notifications == 2  # the owner, and the town centre above
    recipients = set(Notification.objects.filter(title__startswith="回访已超期").values_list("recipient__username", flat=True))
    assert recipients == {"m_comm", "m_town"}
    assert follow_up_sweep(now=due + timedelta(days=2)).notifications == 0


def test_overdue_visible_to_the_centre(mw):
    case = _agreed(mw)
    type(case).objects.filter(pk=case.pk).update(next_follow_up_at=timezone.now() - timedelta(days=1))
    listed = selectors.case_list(actor=mw.user("m_town"), filters=selectors.CaseFilters(follow_up_overdue=True))
    assert [c.pk for c in listed] == [case.pk]
    assert selectors.mediation_numbers(actor=mw.user("m_town"))["follow_up_overdue"] == 1
    # After the follow-up the next one is 15 days away: no longer overdue.
    services.case_follow_up(case_id=case.pk, actor=mw.user("m_comm"), note="已履行")
    assert selectors.mediation_numbers(actor=mw.user("m_town"))["follow_up_overdue"] == 0


def test_command_dry_run(mw):
    import io

    from django.core.management import call_command

    case = _agreed(mw)
    type(case).objects.filter(pk=case.pk).update(next_follow_up_at=timezone.now() - timedelta(hours=1))
    out = io.StringIO()
    call_command("mediation_follow_ups", "--dry-run", stdout=out)
    assert "超期 1" in out.getvalue() and "演练" in out.getvalue()
    assert not Notification.objects.exists()
    call_command("mediation_follow_ups", stdout=io.StringIO())
    assert Notification.objects.count() == 2
