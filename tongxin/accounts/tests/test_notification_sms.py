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
