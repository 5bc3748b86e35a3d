"""The area map's data (/dashboard/map/data/ and /dashboard/map/points/) and page, for the whole city, a
district and a town, on the seeded demo database: p50 / p95 over N requests through Django's test client
(the whole view: middleware, session, scoping, JSON), the first (cold: outlines simplified, nothing
cached) request reported apart. Target: the city's data ≤ 300 ms p95.

    ./dev demo --no-serve                        # once: seeds the Ordos demo into var/
    .venv/bin/python bench/map_data.py [--n 30] [--period month|year] [--quick]

Exit 0 when the target is met, 1 when missed, 2 when there is nothing to measure (no demo seeded)."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
TARGET_MS = 300.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--period", default="month")
    parser.add_argument("--quick", action="store_true", help="5 requests per endpoint (indicative only)")
    args = parser.parse_args()
    if args.quick:
        args.n = 5

    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client

    from tongxin.accounts.models import User
    from tongxin.regions.models import Area
    from tongxin.workorders.models import WorkOrder

    settings.ALLOWED_HOSTS = ["*"]
    orders = WorkOrder.objects.count()
    city = Area.objects.filter(parent__isnull=True).first()
    admin = User.objects.filter(is_superuser=True).first() or User.objects.filter(username="admin").first()
    if not orders or city is None or admin is None:
        print("nothing to measure: seed the demo first (./dev demo --no-serve)")
        return 2
    district = Area.objects.filter(parent=city).order_by("code").first()
    town = Area.objects.filter(parent=district).order_by("code").first() if district else None
    client = Client()
    client.force_login(admin)
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; {orders} orders; "
          f"{Area.objects.count()} areas; period {args.period}; n={args.n}")
    city_p95 = None
    for area in [a for a in (city, district, town) if a is not None]:
        for name in ("map_data", "map_points", "map"):
            url = f"/dashboard/{'map/' if name == 'map' else 'map/' + name.split('_')[1] + '/'}"
            query = f"?area={area.code}&period={args.period}"
            cache.clear()
            t = time.perf_counter()
            response = client.get(url + query)
            cold = (time.perf_counter() - t) * 1000
            assert response.status_code == 200, (url, response.status_code)
            size = len(response.content)
            times = []
            for _ in range(args.n):
                t = time.perf_counter()
                client.get(url + query)
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p95 = times[max(0, round(0.95 * len(times)) - 1)]
            if name == "map_data" and area is city:
                city_p95 = p95
            print(f"{area.level:9} {area.name:10} {url:24} cold {cold:7.1f} ms  p50 {statistics.median(times):6.1f} ms  "
                  f"p95 {p95:6.1f} ms  {size / 1024:7.1f} KiB")
    assert city_p95 is not None
    met = city_p95 <= TARGET_MS
    print(f"target: city map data p95 ≤ {TARGET_MS:.0f} ms: {city_p95:.1f} ms — {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
