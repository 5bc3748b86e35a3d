"""Two folds at once on PostgreSQL (real threads): the cursor row lock serialises them, nothing is counted
twice, and the result equals a rebuild."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tongxin.dashboard.models import COUNTERS, Rollup
from tongxin.dashboard.rollups import fold, rebuild
from tongxin.workorders import services as s

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _snapshot():
    return {(r["day"], r["area_id"], r["dim"], r["key"]): tuple(r[c] for c in COUNTERS)
            for r in Rollup.objects.values("day", "area_id", "dim", "key", *COUNTERS)}


def test_two_folds_at_once(world) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    fold()
    for i in range(30):
        order = s.work_order_create(actor=world.user("operator"), channel="hotline", kind="complaint",
                                    content=f"诉求{i}", category_code="C010101", area_code="150602001001G01")
        if i % 2:
            s.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"))
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            fold()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    folded = _snapshot()
    rebuild()
    assert _snapshot() == folded
    assert sum(v[0] for k, v in folded.items() if k[2] == "all" and k[1] == world.city.pk) == 30
