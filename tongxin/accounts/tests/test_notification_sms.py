"""Notifications of the urgent kinds also go out by SMS, after commit, through the configured backend
(the logging backend here: its outbox is what would have left the machine); other kinds, users without
a phone and rolled-back notifications send nothing."""

from __future__ import annotations

import pytest
from django.db import transaction

from tongxin.accounts.services import notification_send, notification_sms_send
from tongxin.accounts.tasks import notification_sms_task
from tongxin.core.sms import LoggingSmsBackend
from tongxin.testing import make_user


@pytest.fixture(autouse=True)
def _outbox():
    LoggingSmsBackend.outbox.clear()
    yield
    LoggingSmsBackend.outbox.clear()


@pytest.mark.django_db
def test_urgent_kinds_are_sent_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("tongxin.accounts.services._schedule_sms", sent.append)
    handler = make_user("h1")
    handler.phone = "13912345678"
    handler.save()
    silent = make_user("h2")  # no phone
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification_send(recipients=[handler, silent], kind="dispatched", title="新工单 2026120100001 待签收")
        notification_send(recipients=[handler], kind="remind", title="催办")  # not an SMS kind
    assert len(callbacks) == 1 and len(sent) == 1
    assert notification_sms_send(notification_id=sent[0]) is True
    message = LoggingSmsBackend.outbox[-1]
    assert message.phone == "13912345678" and message.text == "【同心】新工单 2026120100001 待签收"
    assert notification_sms_send(notification_id=999999) is False


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_notification_sends_nothing(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("tongxin.accounts.services._schedule_sms", sent.append)
    handler = make_user("h3")
    handler.phone = "13912345678"
    handler.save()
    with pytest.raises(RuntimeError), transaction.atomic():
        notification_send(recipients=[handler], kind="supervise", title="督办")
        raise RuntimeError("the surrounding write failed")
    assert sent == []


@pytest.mark.django_db
def test_the_task_sends_through_the_backend():
    user = make_user("h4")
    user.phone = "13800000000"
    user.save()
    from tongxin.accounts.models import Notification

    note = Notification.objects.create(recipient=user, kind="supervise", title="督办：工单 1 已超期")
    assert notification_sms_task.call_local(note.pk) is True
    assert LoggingSmsBackend.outbox[-1].text == "【同心】督办：工单 1 已超期"


# --- the outbox: a lost task or a dead sender never loses an SMS -------------------------------------

def _urgent_for(username: str, monkeypatch) -> tuple:
    from tongxin.accounts.models import Notification

    monkeypatch.setattr("tongxin.accounts.services._schedule_sms", lambda pk: None)  # the task is "lost"
    user = make_user(username)
    user.phone = "13912345678"
    user.save()
    notification_send(recipients=[user], kind="dispatched", title="新工单 待签收")
    return user, Notification.objects.get(recipient=user)


@pytest.mark.django_db
def test_the_sweep_sends_what_a_lost_task_left_due_and_only_once(monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from tongxin.accounts.models import Notification
    from tongxin.accounts.services import notification_sms_sweep
    from tongxin.accounts.tasks import notification_sms_sweep_task

    _user, note = _urgent_for("o1", monkeypatch)
    assert note.sms_due and note.sms_sent_at is None
    assert notification_sms_sweep() == 0  # younger than a minute: its own task may still be on the way
    Notification.objects.filter(pk=note.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    assert notification_sms_sweep_task.call_local() == 1
    assert [m.text for m in LoggingSmsBackend.outbox] == ["【同心】新工单 待签收"]
    assert Notification.objects.get(pk=note.pk).sms_sent_at is not None
    assert notification_sms_sweep() == 0  # sent: never again
    assert notification_sms_send(notification_id=note.pk) is False  # a late duplicate task sends nothing
    assert len(LoggingSmsBackend.outbox) == 1


@pytest.mark.django_db
def test_a_live_claim_is_respected_and_an_expired_one_is_taken_over(monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from tongxin.accounts.models import Notification
    from tongxin.accounts.services import SMS_LEASE, notification_sms_sweep

    _user, note = _urgent_for("o2", monkeypatch)
    old = timezone.now() - timedelta(minutes=10)
    Notification.objects.filter(pk=note.pk).update(created_at=old, sms_claimed_at=timezone.now())
    assert notification_sms_sweep() == 0 and len(LoggingSmsBackend.outbox) == 0  # another sender is at it
    Notification.objects.filter(pk=note.pk).update(sms_claimed_at=timezone.now() - SMS_LEASE - timedelta(seconds=1))
    assert notification_sms_sweep() == 1  # that sender died: sent by the sweep
    assert len(LoggingSmsBackend.outbox) == 1


@pytest.mark.django_db
def test_a_failing_gateway_leaves_the_sms_due_for_the_retry(monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from tongxin.accounts.models import Notification
    from tongxin.accounts.services import SMS_LEASE, notification_sms_sweep

    _user, note = _urgent_for("o3", monkeypatch)

    def boom(self, *, phone: str, text: str) -> None:
        raise ConnectionError("gateway down")

    monkeypatch.setattr(LoggingSmsBackend, "send", boom)
    with pytest.raises(ConnectionError):
        notification_sms_send(notification_id=note.pk)
    assert Notification.objects.get(pk=note.pk).sms_sent_at is None  # still due
    monkeypatch.undo()
    Notification.objects.filter(pk=note.pk).update(created_at=timezone.now() - timedelta(minutes=10),
                                                   sms_claimed_at=timezone.now() - SMS_LEASE - timedelta(seconds=1))
    assert notification_sms_sweep() == 1
