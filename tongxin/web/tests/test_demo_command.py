"""``tongxin demo --no-serve`` on the test database: migrate, seed a small history, print the logins;
a second run seeds nothing. Then the printed logins work on the pages, and a district dispatcher is
confined to its district."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tongxin.workorders.models import WorkOrder


@pytest.mark.slow
@pytest.mark.django_db(transaction=False)
def test_demo_no_serve_seeds_prints_logins_and_is_idempotent(client):
    out = io.StringIO()
    call_command("demo", "--no-serve", "--orders", "200", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/" in text
    for username in ("operator", "dispatcher", "supervisor", "handler", "grid", "leader", "admin",
                     "dispatcher_dongsheng", "leader_kangbashi", "mediator", "mediator_city"):
        assert f"  {username} " in text, username
    assert "tongxin-demo" in text
    count = WorkOrder.objects.count()
    assert count >= 200

    again = io.StringIO()
    call_command("demo", "--no-serve", "--orders", "200", stdout=again)
    assert "演示数据已存在" in again.getvalue()
    assert WorkOrder.objects.count() == count

    assert client.login(username="dispatcher_dongsheng", password="tongxin-demo")
    dongsheng = WorkOrder.objects.filter(area_path__startswith=_path("150602")).first()
    elsewhere = WorkOrder.objects.exclude(area_path__startswith=_path("150602")).first()
    assert dongsheng is not None and elsewhere is not None
    assert client.get(f"/orders/{dongsheng.pk}/").status_code == 200
    assert client.get(f"/orders/{elsewhere.pk}/").status_code == 404
    html = client.get("/orders/").content.decode()
    assert dongsheng.number in html or "共" in html


def _path(code: str) -> str:
    from tongxin.regions.models import Area

    return Area.objects.get(code=code).path


@pytest.mark.django_db
def test_demo_rejects_a_negative_order_count():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--orders"):
        call_command("demo", "--no-serve", "--orders", "-1", stdout=io.StringIO())
