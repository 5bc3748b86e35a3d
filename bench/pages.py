"""Server time of the workbench pages on the demo's full year of data: ``python bench/pages.py``.

    ./dev demo --no-serve                       # once: the Ordos demo (3,000 orders over a year)
    .venv/bin/python bench/pages.py [--repeat 20]

Each page is requested through Django's full request stack (middleware, session auth, templates,
the real database) in-process, signed in as the demo user of the role that uses it, ``--repeat`` times
after one warm-up; the figures are the median and the 95th percentile of the server time. Uses the
database of the environment (``TONGXIN_VAR_DIR`` / ``DATABASE_URL``), read-only apart from the session
rows of the logins.

Target (issue 3): every page ≤ 200 ms server time. Exit status: 0 when every page meets it, 1 when one
misses, 2 when the demo data is absent.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

TARGET_MS = 200.0
PAGES = [
    ("operator", "/workbench/intake/", "受理台"),
    ("operator", "/workbench/callback/", "回访"),
    ("operator", "/orders/", "工单列表"),
    ("handler", "/workbench/queue/", "承办台 待签收"),
    ("handler", "/workbench/queue/?tab=in_progress", "承办台 办理中"),
    ("handler", "/workbench/numbers/", "我的数据（单位）"),
    ("dispatcher", "/workbench/dispatch/", "派单/督办"),
    ("supervisor", "/workbench/numbers/", "我的数据（中心）"),
    ("leader", "/orders/", "工单列表（领导）"),
    ("handler", "/workbench/notifications/", "通知"),
    # The intake console's assist panel, asked while a call is typed (caller history, classification,
    # duplicates among a week of open orders, knowledge base): a POST.
    ("operator", "/workbench/intake/assist/", "受理辅助（POST）"),
]
ASSIST = {"citizen_phone": "13904771234", "content": "东胜区小区门口垃圾堆积多日无人清理，气味很大，请尽快处理",
          "title": "", "lat": "39.8180", "lng": "109.9800", "category_code": ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    from tongxin.accounts.models import User
    from tongxin.workorders.models import WorkOrder

    orders = WorkOrder.objects.count()
    if orders == 0:
        print("no work orders in this database: run ./dev demo --no-serve first")
        return 2
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, {orders:,} work orders; "
          f"{args.repeat} requests per page after a warm-up")
    latest = WorkOrder.objects.order_by("-accepted_at").only("pk").first()
    pages = [*PAGES, ("operator", f"/orders/{latest.pk}/", "工单详情"), ("leader", "/dashboard/", "城市运行"),
             ("mediator_city", "/mediation/", "矛盾调解 案件列表")]
    clients: dict[str, Client] = {}
    worst = 0.0
    print(f"{'page':<24} {'user':<11} {'status':>6} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    from django.db import connection, reset_queries

    for username, url, label in pages:
        if username not in clients:
            user = User.objects.filter(username=username).first()
            if user is None:
                print(f"demo user {username} missing: run ./dev demo --no-serve")
                return 2
            clients[username] = Client()
            clients[username].force_login(user)
        client = clients[username]
        def fetch(client: Client = client, url: str = url) -> object:
            return client.post(url, ASSIST) if url.endswith("/assist/") else client.get(url)

        response = fetch()  # warm-up (caches, first template compile, the classifier's model file)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            response = fetch()
            times.append((time.perf_counter() - start) * 1000)
        settings.DEBUG = True
        reset_queries()
        fetch()
        queries = len(connection.queries)
        settings.DEBUG = False
        times.sort()
        median = statistics.median(times)
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        worst = max(worst, p95)
        print(f"{label:<22} {username:<11} {response.status_code:>6} {median:>10.1f} {p95:>8.1f} {queries:>8}")
    verdict = "met" if worst <= TARGET_MS else "MISSED"
    print(f"\nworst p95 {worst:.1f} ms (target ≤ {TARGET_MS:.0f} ms): {verdict}")
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
