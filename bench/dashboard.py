"""City dashboard benchmark: the rebuild of the rollups, the fold of new events, and the screen's data for
the whole city, with millions of work orders.

    .venv/bin/python bench/dashboard.py --sqlite                     # 1,000,000 orders on a SQLite file
    .venv/bin/python bench/dashboard.py                              # 10,000,000 on PostgreSQL (throw-away db)
    .venv/bin/python bench/dashboard.py --orders 2000000             # any size
    .venv/bin/python bench/dashboard.py --keep / --reuse NAME        # keep the data for another run

Targets (issue 9): the screen's data (``dashboard.selectors.screen_data``: every number, chart, map region,
ranking, the mediation gauges and the live feed) ≤ 300 ms server time for the whole city, with 1 million
orders on SQLite and 10 million on PostgreSQL; and the rebuild time for 10 million, recorded.

Data: the fixed test world plus a city-sized area tree (9 districts, 90 towns, 720 communities, 3,600
grids), 60 departments and ~24 categories (as in bench/overdue_queue.py, whose generator writes the
orders and lead assignments: two years of history, statuses by age, deadlines by the default policy),
and one ``accept`` event per order, written by one INSERT … SELECT. 90 % of the orders are placed in a
grid, 10 % at the town level.

Measured: the rebuild (``rollups.rebuild``, timed by phase); a fold of 1,000 new events on random orders;
then ``screen_data`` for the city (this month), a district (this month), a town (this week) and a grid
(today), each 30 times after 3 warm-up calls (median, p95, max, queries per call). Hot spots and hot words
are not part of the screen's data: the page loads them separately (cached five minutes).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
import overdue_queue

TARGET_MS = 300.0
RUNS = 30
WARMUP = 3


def build_areas(seed: int) -> list[tuple[int, str, float, float, float, float]]:
    """A city-sized tree under the test world's city, written in bulk with explicit ids and paths.
    Returns (id, path, min_lng, min_lat, max_lng, max_lat) of the places orders go to."""
    from django.db.models import Max

    from tongxin.regions.models import Area
    from tongxin.testing import square

    rng = random.Random(seed)
    city = Area.objects.get(code="150600")
    next_id = (Area.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    rows: list[Area] = []
    places: list[tuple[int, str, float, float, float, float]] = []

    def add(parent_path: str, code: str, name: str, level: str, depth: int, box: tuple[float, float, float]) -> Area:
        nonlocal next_id
        lng, lat, size = box
        area = Area(id=next_id, code=code, name=name, level=level, path=f"{parent_path}{next_id}/", depth=depth,
                    parent_id=int(parent_path.strip("/").split("/")[-1]), generated=True,
                    boundary=square(lng, lat, size) if level in {"district", "town"} else None,
                    min_lng=lng, min_lat=lat, max_lng=lng + size, max_lat=lat + size,
                    center_lng=lng + size / 2, center_lat=lat + size / 2)
        next_id += 1
        rows.append(area)
        return area

    for d in range(9):
        district = add(city.path, f"1599{d:02d}", f"基准{d + 1}区", "district", 1, (107 + (d % 3) * 1.3, 37 + (d // 3) * 1.3, 1.2))
        for t in range(10):
            town = add(district.path, f"{district.code}{t:03d}", f"{district.name}{t + 1}街道", "town", 2,
                       (district.min_lng + (t % 4) * 0.3, district.min_lat + (t // 4) * 0.3, 0.28))
            places.append((town.id, town.path, town.min_lng, town.min_lat, town.max_lng, town.max_lat))
            for c in range(8):
                community = add(town.path, f"{town.code}{c:03d}", f"{town.name}{c + 1}社区", "community", 3,
                                (town.min_lng + (c % 3) * 0.09, town.min_lat + (c // 3) * 0.09, 0.08))
                for g in range(5):
                    grid = add(community.path, f"{community.code}G{g:02d}", f"{community.name}{g + 1}网格", "grid", 4,
                               (community.min_lng + g * 0.015, community.min_lat, 0.014))
                    places.append((grid.id, grid.path, grid.min_lng, grid.min_lat, grid.max_lng, grid.max_lat))
    Area.objects.bulk_create(rows, batch_size=2000)
    grids = [p for p in places if p[1].count("/") == 6]
    towns = [p for p in places if p[1].count("/") == 4]
    rng.shuffle(grids)
    # Nine in ten orders in a grid, one in ten at the town level (no finer place known).
    return grids * 9 + towns * 40


def populate(n: int, seed: int) -> dict[str, float]:
    from django.db import connection, transaction

    from tongxin.workorders.models import WorkOrder, WorkOrderAssignment, WorkOrderEvent

    timings: dict[str, float] = {}
    began = time.perf_counter()
    world = overdue_queue.build_world_extra(seed)
    world["areas"] = build_areas(seed)
    timings["world and areas"] = time.perf_counter() - began
    now = datetime.now(UTC)
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        connection.connection.execute("PRAGMA synchronous=OFF")
    generate_s = insert_s = 0.0
    written = 0
    with transaction.atomic():
        chunks = overdue_queue.generate(n, seed, world, first_id=1, now=now)
        while True:
            began = time.perf_counter()
            chunk = next(chunks, None)
            generate_s += time.perf_counter() - began
            if chunk is None:
                break
            o_cols, orders, a_cols, assignments = chunk
            began = time.perf_counter()
            overdue_queue.write_rows(WorkOrder, o_cols, orders)
            overdue_queue.write_rows(WorkOrderAssignment, a_cols, assignments)
            insert_s += time.perf_counter() - began
            written += len(orders)
            print(f"  {written:,} orders written", end="\r", flush=True)
    timings["generate rows in Python"] = generate_s
    timings["insert orders and assignments"] = insert_s
    began = time.perf_counter()
    ev, wo = WorkOrderEvent._meta.db_table, WorkOrder._meta.db_table
    data = "'{}'::jsonb" if connection.vendor == "postgresql" else "'{}'"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {ev} (order_id, action, from_status, to_status, actor_role, actor_label, at, note, data) "
                       f"SELECT id, 'accept', '', 'accepted', 'operator', '话务员', accepted_at, '', {data} FROM {wo}")
    timings["insert accept events (INSERT … SELECT)"] = time.perf_counter() - began
    began = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in (WorkOrder, WorkOrderAssignment):
                table = model._meta.db_table
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            for table in (wo, WorkOrderAssignment._meta.db_table, ev):
                cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")
            connection.connection.execute("PRAGMA synchronous=NORMAL")
    timings["analyze"] = time.perf_counter() - began
    print(f"generated {written:,} orders: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()), flush=True)
    return timings


def timed(fn: Any, runs: int = RUNS, warmup: int = WARMUP) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return {"median": statistics.median(samples), "p95": samples[min(len(samples) - 1, int(0.95 * len(samples)))],
            "max": samples[-1]}


def queries(fn: Any) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def profile(label: str, fn: Any, top: int = 4) -> None:
    """Where one call's time goes: its slowest statements (wall time in the database driver), and on
    PostgreSQL the plan of the slowest (EXPLAIN ANALYZE, BUFFERS)."""
    from django.db import connection

    timings: list[tuple[float, str, Any]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append(((time.perf_counter() - began) * 1000, sql, params))

    fn()  # warm
    began = time.perf_counter()
    with connection.execute_wrapper(wrapper):
        fn()
    total = (time.perf_counter() - began) * 1000
    in_sql = sum(t for t, _sql, _params in timings)
    print(f"  {label}: {total:.1f} ms, of which {in_sql:.1f} ms in {len(timings)} statements; the slowest:")
    timings.sort(key=lambda item: item[0], reverse=True)
    for ms, sql, _params in timings[:top]:
        print(f"    {ms:7.1f} ms  {' '.join(sql.split())[:150]}")
    if connection.vendor == "postgresql" and timings:
        _ms, sql, params = timings[0]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            for (line,) in cursor.fetchall():
                print(f"      {line}")


def measure(args: argparse.Namespace) -> int:
    from django.db import connection
    from django.db.models import Count

    from tongxin.accounts.models import User
    from tongxin.dashboard.models import OrderFact, Rollup
    from tongxin.dashboard.rollups import fold, rebuild
    from tongxin.dashboard.selectors import screen_data
    from tongxin.regions.models import Area
    from tongxin.workorders.models import WorkOrder, WorkOrderEvent

    orders = WorkOrder.objects.count()
    print(f"orders: {orders:,}; events: {WorkOrderEvent.objects.count():,}; areas: {Area.objects.count():,}", flush=True)
    if not args.no_rebuild:
        busy = benchlib.busy_fraction(2.0)
        result = rebuild()
        print(f"rebuild: {result['seconds']:.1f} s (clear {result['clear_seconds']:.1f} s, facts "
              f"{result['facts_seconds']:.1f} s, rollups {result['rollups_seconds']:.1f} s); {result['rows']:,} rollup rows; "
              f"{OrderFact.objects.count():,} order facts; machine busy before: {busy:.0%}", flush=True)
    by_dim = dict(Rollup.objects.values_list("dim").annotate(n=Count("id")).order_by())
    print(f"rollup rows by dimension: {by_dim}")
    # A fold of 1,000 new events on random orders (comments: the orders are re-folded all the same).
    rng = random.Random(args.seed)
    sample = rng.sample(range(1, orders + 1), 1000)
    from django.utils import timezone

    now = timezone.now()
    WorkOrderEvent.objects.bulk_create([WorkOrderEvent(order_id=pk, action="comment", from_status="", to_status="accepted",
                                                       actor_label="基准", at=now, data={}) for pk in sample])
    began = time.perf_counter()
    folded = fold(overlap=0)
    print(f"fold of 1,000 new events: {(time.perf_counter() - began) * 1000:.0f} ms "
          f"({folded.orders} orders re-folded, {folded.rows_changed} rollup rows moved)", flush=True)
    again = fold(overlap=0)
    print(f"fold with nothing new: {again.seconds * 1000:.0f} ms (rechecked {again.rechecked} orders whose deadline passed)")
    admin = User.objects.get(username="admin")
    city = Area.objects.get(code="150600")
    district = Area.objects.get(code="159900")
    town = Area.objects.get(code="159900000")
    grid = Area.objects.filter(path__startswith=town.path, level="grid").order_by("id").first()
    cases = [("city, this month", city, "month"), ("district, this month", district, "month"),
             ("town, this week", town, "week"), ("grid, today", grid, "day")]
    worst = 0.0
    print(f"screen_data, {RUNS} runs after {WARMUP} warm-up (ms):")
    for label, area, period in cases:
        def call(area: Any = area, period: str = period) -> Any:
            return screen_data(actor=admin, area=area, period_kind=period)

        stats = timed(call)
        n = queries(call)
        data = call()
        worst = max(worst, stats["p95"])
        print(f"  {label:22} median {stats['median']:6.1f}  p95 {stats['p95']:6.1f}  max {stats['max']:6.1f}  "
              f"{n} queries; accepted in period {data['volume']['accepted']['value']:,}, open {data['state']['open']['value']:,}",
              flush=True)
    if args.profile:
        print("where the time goes (one warm call each):")
        for label, area, period in cases:
            profile(label, lambda area=area, period=period: screen_data(actor=admin, area=area, period_kind=period))
    verdict = "met" if worst <= TARGET_MS else "MISSED"
    print(f"worst p95 {worst:.1f} ms against the target {TARGET_MS:.0f} ms: {verdict}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('dashboard_rollup')), "
                           "pg_size_pretty(pg_total_relation_size('dashboard_orderfact')), "
                           "pg_size_pretty(pg_total_relation_size('workorders_workorder'))")
            print("sizes (rollup, order facts, work orders): " + ", ".join(cursor.fetchone()))
    return 0 if worst <= TARGET_MS else 1


def run(args: argparse.Namespace, *, database_url: str | None = None, sqlite_path: str | None = None) -> int:
    benchlib.django_setup(database_url=database_url, sqlite_path=sqlite_path)
    if not args.reuse:
        took = benchlib.migrate_quietly()
        print(f"migrated in {took:.1f} s", flush=True)
        populate(args.orders, args.seed)
    return measure(args)


def main() -> int:
    parser = argparse.ArgumentParser(description="The city dashboard with millions of work orders.")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--orders", type=int, help="orders to generate (default 1,000,000 on SQLite, 10,000,000 on PostgreSQL)")
    parser.add_argument("--keep", action="store_true", help="keep the generated database for --reuse")
    parser.add_argument("--reuse", metavar="NAME", help="a database kept earlier (PostgreSQL name or SQLite file)")
    parser.add_argument("--no-rebuild", action="store_true", help="with --reuse: measure the rollups as they are")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--profile", action="store_true", help="after the timings: each call's slowest statements and the plan of the slowest")
    args = parser.parse_args()
    if args.orders is None:
        args.orders = 1_000_000 if args.sqlite else 10_000_000
    benchlib.install_signal_handlers()
    extra: dict[str, str] = {}
    if args.sqlite:
        import sqlite3

        extra["sqlite"] = sqlite3.sqlite_version
    else:
        extra["postgresql"] = benchlib.pg_version()
    benchlib.print_machine(extra)
    print(f"orders: {args.orders:,}; target: screen_data ≤ {TARGET_MS:.0f} ms (p95 of {RUNS} warm runs)", flush=True)
    if args.sqlite:
        path = Path(args.reuse or benchlib.ROOT / "var" / f"bench-dashboard-{os.getpid()}.sqlite3").resolve()
        try:
            return run(args, sqlite_path=str(path))
        finally:
            if not (args.keep or args.reuse):
                benchlib.close_django_connections()
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
                print(f"removed {path}")
            elif args.keep and not args.reuse:
                print(f"kept {path} (reuse with --sqlite --reuse {path})")
    name = args.reuse or f"tongxin_bench_dashboard_{os.getpid()}"
    with benchlib.throwaway_postgres(name, keep=args.keep, reuse=bool(args.reuse)) as url:
        return run(args, database_url=url)


if __name__ == "__main__":
    sys.exit(main())
