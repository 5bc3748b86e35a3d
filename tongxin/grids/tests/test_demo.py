"""The demo's grid work on the test world: patrols, check-ins inside the grid, reports settled and raised,
opinions, all through the services (so the numbers count them); idempotent."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from django.utils import timezone
from shapely.geometry import shape

from tongxin.demo.grids import seed_grids
from tongxin.grids.choices import ReportStatus
from tongxin.grids.models import FieldReport, Opinion, Patrol, PatrolCheckin
from tongxin.grids.selectors import grid_numbers


def test_seed_grids(gw):
    w = gw.w
    infos = [SimpleNamespace(area=a, geom=shape(a.boundary), district_code="150603", address_stem="演示小区")
             for a in (gw.grid_b, w.grid_a, gw.grid_a2)]
    staff = SimpleNamespace(grid_workers={gw.grid_b.pk: gw.user("grid_worker_b")})
    counts = seed_grids(SimpleNamespace(grids=infos), staff)
    assert counts["patrols"] == Patrol.objects.filter(ended_at__isnull=False).count() > 10
    assert not Patrol.objects.filter(ended_at__isnull=True).exists()
    assert all(c.inside_grid for c in PatrolCheckin.objects.all())
    assert FieldReport.objects.filter(status=ReportStatus.SETTLED).count() == counts["settled"]
    assert FieldReport.objects.filter(status=ReportStatus.RAISED).count() == counts["raised"]
    assert Opinion.objects.count() == counts["opinions"]
    # history lies in the past thirty days, stamped by the seed clock
    first = Patrol.objects.order_by("started_at").first()
    assert timezone.now() - timedelta(days=31) < first.started_at < timezone.now() - timedelta(hours=12)
    end = timezone.now()
    n = grid_numbers(areas=[w.city], start=end - timedelta(days=31), end=end)[w.city.pk]
    assert n.patrols == counts["patrols"] and n.settled_in_grid == counts["settled"]
    assert seed_grids(SimpleNamespace(grids=infos), staff) == {}  # idempotent
