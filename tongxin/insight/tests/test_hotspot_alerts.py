"""Early warning (未诉先办): current hotspots become notifications for the leaders whose area holds them,
once; leaders elsewhere hear nothing; the dry run sends nothing; the command and the job say so."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tongxin.accounts.models import Notification
from tongxin.insight.services import hotspot_alerts_send
from tongxin.insight.tasks import hotspot_alerts_task
from tongxin.workorders import services as s
from tongxin.workorders.tests.engine_helpers import POINT_A

pytestmark = pytest.mark.django_db


def _wave(world, n=3):
    return [s.work_order_create(actor=world.user("operator"), channel="hotline", kind="complaint",
                                content=f"小区门口垃圾堆积没人清理（第{i}位来电）", category_code="C010101",
                                citizen_phone=f"1381234000{i}", **POINT_A) for i in range(n)]


def test_a_hotspot_notifies_the_leaders_of_its_area_once(world):
    orders = _wave(world)
    dry = hotspot_alerts_send(dry_run=True)
    assert dry.hotspots == 1 and dry.notified == 0 and Notification.objects.filter(kind="hotspot").count() == 0
    assert "leader" in dry.items[0]["leaders"] and "leader_b" not in dry.items[0]["leaders"]
    report = hotspot_alerts_send()
    notes = Notification.objects.filter(kind="hotspot")
    assert report.notified == notes.count() >= 1
    assert {n.recipient.username for n in notes} >= {"leader"}
    assert not notes.filter(recipient=world.user("leader_b")).exists()
    note = notes.get(recipient=world.user("leader"))
    assert "3 件" in note.title and all(o.number in note.body for o in orders)
    assert note.url == f"/orders/{orders[0].pk}/"
    # Again, and after the cluster grew by one: nothing new.
    assert hotspot_alerts_send().notified == 0
    _wave(world, 1)
    assert hotspot_alerts_send().notified == 0
    assert Notification.objects.filter(kind="hotspot").count() == report.notified


def test_below_the_threshold_nothing_is_sent(world):
    _wave(world, 2)
    assert hotspot_alerts_send().hotspots == 0
    assert not Notification.objects.filter(kind="hotspot").exists()


def test_the_command_and_the_job(world):
    _wave(world)
    out = io.StringIO()
    call_command("hotspot_alerts", "--dry-run", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary == {"hotspots": 1, "notified": 0, "dry_run": True}
    assert "热点预警" in out.getvalue()
    result = hotspot_alerts_task.call_local()
    assert result["notified"] >= 1
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--days"):
        call_command("hotspot_alerts", "--days", "0", stdout=io.StringIO())
