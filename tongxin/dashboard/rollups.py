"""The rollups: an incremental fold of new work-order events, and a rebuild from the raw rows.

How a number gets onto the screen (docs/dashboard.md has the whole story):

1. Every change of a work order writes a ``WorkOrderEvent`` (append-only, same transaction). The fold
   (``fold()``, every minute as a Huey task and as ``tongxin dashboard_rollup``) reads the events after
   its cursor; the events say *which* orders changed.
2. For those orders (and for orders whose completion or sign-off deadline passed since the last fold:
   ``recheck_at``) it subtracts what they contributed before (their ``OrderFact`` / ``AssignmentFact``
   rows), recomputes the facts from the orders' current rows, and adds the new contribution: the
   ``Rollup`` rows move by the difference only.
3. ``rebuild()`` (``tongxin dashboard_rebuild``) computes the same facts and rollups from all the rows at
   once, in set-based SQL, and must give identical rows (the property test checks it).

One SQL text computes the facts for both paths (``_order_fact_sql`` / ``_assignment_fact_sql``), and one
computes the rollup rows from facts (``_contribution_sql``), so the fold and the rebuild cannot drift
apart. The formulas are those of ``workorders.selectors.kpi_summary`` (checked against it in the tests).

The dashboard reads the work-order tables directly in SQL here (read-only): the one place where the
rule "through selectors only" gives way, because rebuilding ten million rows needs set-based SQL.
"""

# The SQL below is assembled from table names of the models and fixed column lists only; every value
# is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import (
    ASSIGNMENT_COUNTERS,
    COUNTERS,
    ORDER_COUNTERS,
    AreaLink,
    AssignmentFact,
    CategoryRoot,
    OrderFact,
    RollupCursor,
)

# Breakdowns by channel, category and department are kept down to this depth (0 city, 1 district,
# 2 town); below it (communities, grids) only the totals.
DIM_MAX_DEPTH = 2
DIMS = ("channel", "category", "department")
# Events are numbered when inserted but may commit out of order (two transactions at once): each fold
# also re-reads this many event ids before its cursor. Re-folding an order is harmless (idempotent).
OVERLAP = 500
BATCH = 500  # orders per refold statement (bind parameters stay well under SQLite's limit)
MAX_EVENTS = 200_000  # events per transaction of one fold run

NOT_COUNTED_SQL = "('merged', 'withdrawn', 'invalid', 'transferred')"


def _tables() -> dict[str, str]:
    from tongxin.workorders.models import Category, WorkOrder, WorkOrderAssignment, WorkOrderEvent

    from .models import Rollup

    return {
        "wo": WorkOrder._meta.db_table, "woa": WorkOrderAssignment._meta.db_table,
        "ev": WorkOrderEvent._meta.db_table, "cat": Category._meta.db_table,
        "of": OrderFact._meta.db_table, "af": AssignmentFact._meta.db_table, "link": AreaLink._meta.db_table,
        "root": CategoryRoot._meta.db_table, "rollup": Rollup._meta.db_table,
    }


def _local_date(column: str) -> tuple[str, list[Any]]:
    """SQL for the local calendar date of a timestamp column (the configured TIME_ZONE)."""
    sql, params = connection.ops.datetime_cast_date_sql(column, (), timezone.get_current_timezone_name())
    return sql, list(params)


def _db_time(moment: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


def _in(ids: Sequence[int] | None, column: str) -> tuple[str, list[Any]]:
    if ids is None:
        return "", []
    return f" AND {column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _order_fact_sql(clock: datetime, ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    t = _tables()
    day, day_params = _local_date("o.accepted_at")
    where, where_params = _in(ids, "o.id")
    c = _db_time(clock)
    sql = f"""
        INSERT INTO {t['of']} (order_id, day, area_id, top_id, category_id, channel, department_id, accepted,
            replied, replied_timed, replied_on_time, called_back, satisfied, repeat, open, overdue, recheck_at)
        SELECT o.id, {day}, o.area_id, l.ancestor_id, COALESCE(r.root_id, 0), o.channel,
            COALESCE(o.lead_department_id, 0), 1,
            CASE WHEN o.replied_at IS NOT NULL THEN 1 ELSE 0 END,
            CASE WHEN o.replied_at IS NOT NULL AND o.due_at IS NOT NULL THEN 1 ELSE 0 END,
            CASE WHEN o.replied_at IS NOT NULL AND o.due_at IS NOT NULL AND o.replied_at <= o.due_at THEN 1 ELSE 0 END,
            CASE WHEN o.satisfaction <> '' THEN 1 ELSE 0 END,
            CASE WHEN o.satisfaction IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END,
            CASE WHEN o.is_repeat THEN 1 ELSE 0 END,
            CASE WHEN o.status <> 'closed' THEN 1 ELSE 0 END,
            CASE WHEN o.status IN ('dispatched', 'in_progress') AND o.due_at < %s THEN 1 ELSE 0 END,
            CASE WHEN o.status IN ('dispatched', 'in_progress') AND o.due_at >= %s THEN o.due_at END
        FROM {t['wo']} o
        JOIN {t['link']} l ON l.area_id = o.area_id AND l.is_top = 1
        LEFT JOIN {t['root']} r ON r.category_id = o.category_id
        WHERE o.status NOT IN {NOT_COUNTED_SQL}{where}
    """
    return sql, [*day_params, c, c, *where_params]


def _assignment_fact_sql(clock: datetime, ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    t = _tables()
    day, day_params = _local_date("a.assigned_at")
    where, where_params = _in(ids, "o.id")
    c = _db_time(clock)
    # sign_decided / signed_on_time: kpi_summary's sign_on_time_rate. A lapsed assignment (unsigned past
    # its deadline) counts in the denominator unless it was returned before the deadline.
    sql = f"""
        INSERT INTO {t['af']} (assignment_id, order_id, day, area_id, top_id, category_id, channel, department_id,
            assignments, returned, sign_decided, signed_on_time, recheck_at)
        SELECT a.id, o.id, {day}, o.area_id, l.ancestor_id, COALESCE(r.root_id, 0), o.channel, a.department_id, 1,
            CASE WHEN a.returned_at IS NOT NULL THEN 1 ELSE 0 END,
            CASE WHEN a.signed_at IS NOT NULL THEN 1
                 WHEN a.sign_due_at < %s AND (a.returned_at IS NULL OR a.returned_at >= a.sign_due_at) THEN 1
                 ELSE 0 END,
            CASE WHEN a.signed_at IS NOT NULL AND a.signed_at <= a.sign_due_at THEN 1 ELSE 0 END,
            CASE WHEN a.signed_at IS NULL AND a.returned_at IS NULL AND a.sign_due_at >= %s THEN a.sign_due_at END
        FROM {t['woa']} a
        JOIN {t['wo']} o ON o.id = a.order_id
        JOIN {t['link']} l ON l.area_id = o.area_id AND l.is_top = 1
        LEFT JOIN {t['root']} r ON r.category_id = o.category_id
        WHERE a.role = 'lead' AND o.status NOT IN {NOT_COUNTED_SQL}{where}
    """
    return sql, [*day_params, c, c, *where_params]


def _contribution_sql(ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    """Rollup rows (day, area_id, dim, key, *COUNTERS) of the facts (of the given orders, or all):
    pre-aggregated per leaf area (totals) or per town (breakdowns), then rolled up the area tree."""
    t = _tables()
    parts: list[str] = []
    params: list[Any] = []
    for table, counters in ((t["of"], ORDER_COUNTERS), (t["af"], ASSIGNMENT_COUNTERS)):
        where, where_params = _in(ids, "order_id")
        where = where.replace(" AND ", " WHERE ", 1)
        sums = ", ".join(f"SUM({c}) AS {c}" for c in counters)
        outer = ", ".join(f"SUM(s.{c}) AS c{i}" if c in counters else f"0 AS c{i}" for i, c in enumerate(COUNTERS))
        parts.append(f"""
            SELECT s.day AS day, l.ancestor_id AS area_id, 'all' AS dim, '' AS k, {outer}
            FROM (SELECT day, area_id, {sums} FROM {table}{where} GROUP BY day, area_id) s
            JOIN {t['link']} l ON l.area_id = s.area_id
            GROUP BY s.day, l.ancestor_id""")
        params += where_params
        for dim in DIMS:
            column = {"channel": "channel", "category": "category_id", "department": "department_id"}[dim]
            key = column if dim == "channel" else f"CAST({column} AS VARCHAR(40))"
            parts.append(f"""
            SELECT s.day AS day, l.ancestor_id AS area_id, '{dim}' AS dim, s.k AS k, {outer}
            FROM (SELECT day, top_id, {key} AS k, {sums} FROM {table}{where} GROUP BY day, top_id, {key}) s
            JOIN {t['link']} l ON l.area_id = s.top_id AND l.depth <= {DIM_MAX_DEPTH}
            GROUP BY s.day, l.ancestor_id, s.k""")
            params += where_params
    columns = ", ".join(f"SUM(c{i})" for i in range(len(COUNTERS)))
    sql = f"SELECT day, area_id, dim, k, {columns} FROM ({' UNION ALL '.join(parts)}) u GROUP BY day, area_id, dim, k"
    return sql, params


# --- the maps: area closure and category roots -------------------------------------------------

def maps_ensure(*, force: bool = False) -> bool:
    """(Re)build the area closure and the category roots when an area or a category was added (counts
    differ) or when forced. Small tables: a few thousand rows for a city."""
    from django.db.models import Count, Max

    from tongxin.regions.models import Area
    from tongxin.workorders.models import Category

    changed = False
    areas = Area.objects.aggregate(n=Count("id"), m=Max("id"))
    linked = AreaLink.objects.filter(is_top=1).aggregate(n=Count("id"), m=Max("area_id"))
    if force or (areas["n"], areas["m"]) != (linked["n"], linked["m"]):
        links = []
        for pk, path in Area.objects.values_list("pk", "path"):
            chain = [int(p) for p in path.strip("/").split("/") if p]
            top_depth = min(len(chain) - 1, DIM_MAX_DEPTH)
            links += [AreaLink(area_id=pk, ancestor_id=a, depth=d, is_top=int(d == top_depth))
                      for d, a in enumerate(chain)]
        AreaLink.objects.all().delete()
        AreaLink.objects.bulk_create(links, batch_size=2000)
        changed = True
    categories = Category.objects.aggregate(n=Count("id"), m=Max("id"))
    rooted = CategoryRoot.objects.aggregate(n=Count("category_id"), m=Max("category_id"))
    if force or (categories["n"], categories["m"]) != (rooted["n"], rooted["m"]):
        roots = [CategoryRoot(category_id=pk, root_id=int(path.strip("/").split("/")[0]))
                 for pk, path in Category.objects.values_list("pk", "path") if path.strip("/")]
        CategoryRoot.objects.all().delete()
        CategoryRoot.objects.bulk_create(roots, batch_size=2000)
        changed = True
    return changed


# --- fold and rebuild ---------------------------------------------------------------------------

@dataclass
class FoldResult:
    events: int = 0
    orders: int = 0
    rechecked: int = 0
    rows_changed: int = 0
    last_event_id: int = 0
    seconds: float = 0.0
    rebuilt: bool = False
    windows: list[tuple[int, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "windows"}


def _lock_cursor() -> RollupCursor:
    RollupCursor.objects.get_or_create(name="rollup")
    # On PostgreSQL the row lock serialises folds and rebuilds; on SQLite the IMMEDIATE transaction
    # (ADR 0005) already does.
    return RollupCursor.objects.select_for_update().get(name="rollup")


def _max_event_id() -> int:
    from django.db.models import Max

    from tongxin.workorders.models import WorkOrderEvent

    return int(WorkOrderEvent.objects.aggregate(m=Max("id"))["m"] or 0)


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _execute(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return int(cursor.rowcount or 0)


def _contributions(ids: Sequence[int]) -> dict[tuple[Any, ...], list[int]]:
    sql, params = _contribution_sql(ids)
    out: dict[tuple[Any, ...], list[int]] = {}
    for row in _fetch(sql, params):
        day = row[0]
        if isinstance(day, str):
            from datetime import date

            day = date.fromisoformat(day)
        out[(day, int(row[1]), row[2], row[3])] = [int(v or 0) for v in row[4:]]
    return out


def _refold(ids: Sequence[int], clock: datetime) -> int:
    """Replace the facts of these orders and move the rollups by the difference. Returns rows touched."""
    t = _tables()
    before = _contributions(ids)
    placeholders = ", ".join(["%s"] * len(ids))
    _execute(f"DELETE FROM {t['of']} WHERE order_id IN ({placeholders})", list(ids))
    _execute(f"DELETE FROM {t['af']} WHERE order_id IN ({placeholders})", list(ids))
    for build in (_order_fact_sql, _assignment_fact_sql):
        sql, params = build(clock, ids)
        _execute(sql, params)
    after = _contributions(ids)
    deltas = []
    for key in set(before) | set(after):
        old, new = before.get(key), after.get(key)
        delta = [n - o for n, o in zip(new or [0] * len(COUNTERS), old or [0] * len(COUNTERS), strict=True)]
        if any(delta):
            deltas.append((key, delta))
    if not deltas:
        return 0
    columns = ", ".join(COUNTERS)
    increments = ", ".join(f"{c} = {t['rollup']}.{c} + excluded.{c}" for c in COUNTERS)
    upsert = (f"INSERT INTO {t['rollup']} (day, area_id, dim, key, {columns}) "
              f"VALUES (%s, %s, %s, %s, {', '.join(['%s'] * len(COUNTERS))}) "
              f"ON CONFLICT (area_id, dim, day, key) DO UPDATE SET {increments}")
    with connection.cursor() as cursor:
        cursor.executemany(upsert, [(*key, *delta) for key, delta in deltas])
        # Every order counter is ≤ accepted and every assignment counter ≤ assignments: a row with both
        # at zero is all zero, and goes (the rebuild never writes one).
        cursor.executemany(
            f"DELETE FROM {t['rollup']} WHERE area_id = %s AND dim = %s AND day = %s AND key = %s "
            "AND accepted = 0 AND assignments = 0",
            [(key[1], key[2], key[0], key[3]) for key, _delta in deltas],
        )
    return len(deltas)


def _chunks(ids: Iterable[int], size: int) -> Iterable[list[int]]:
    batch: list[int] = []
    for pk in ids:
        batch.append(pk)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def fold(*, now: datetime | None = None, overlap: int = OVERLAP, max_events: int = MAX_EVENTS) -> FoldResult:
    """Fold the events after the cursor (and the orders whose deadlines passed) into the rollups.

    Idempotent: a second run with nothing new changes nothing. Safe under concurrency: the cursor row is
    locked for the whole transaction, so a second worker waits and then finds nothing to do. A long
    backlog is folded in windows of ``max_events`` events, one transaction each."""
    from tongxin.workorders.models import WorkOrderEvent

    began = time.perf_counter()
    clock = now or timezone.now()
    result = FoldResult()
    if not RollupCursor.objects.filter(name="rollup", rebuilt_at__isnull=False).exists() and not OrderFact.objects.exists():
        # Never built: one set-based rebuild is far cheaper than folding the whole history.
        rebuild(now=clock)
        cursor = RollupCursor.objects.get(name="rollup")
        result.rebuilt, result.last_event_id = True, cursor.last_event_id
        result.seconds = round(time.perf_counter() - began, 3)
        return result
    first = True
    while True:
        with transaction.atomic():
            cursor = _lock_cursor()
            # New areas and categories join the maps before any fact is computed. (A category or an area
            # *moved* to another parent changes old orders' roots: the nightly rebuild corrects those.)
            maps_ensure()
            top = _max_event_id()
            last = cursor.last_event_id
            upper = min(top, last + max_events)
            low = max(0, last - overlap) if first else last
            orders = set(WorkOrderEvent.objects.filter(id__gt=low, id__lte=upper)
                         .values_list("order_id", flat=True).distinct())
            result.events += max(0, upper - last)
            if first:
                due = set(OrderFact.objects.filter(recheck_at__lte=clock).values_list("order_id", flat=True))
                due |= set(AssignmentFact.objects.filter(recheck_at__lte=clock).values_list("order_id", flat=True))
                result.rechecked = len(due - orders)
                orders |= due
            for batch in _chunks(sorted(orders), BATCH):
                result.rows_changed += _refold(batch, clock)
            result.orders += len(orders)
            cursor.last_event_id = max(last, upper)
            cursor.clock = clock
            cursor.folded_at = timezone.now()
            cursor.save(update_fields=["last_event_id", "clock", "folded_at"])
            result.windows.append((low, upper))
            result.last_event_id = cursor.last_event_id
        first = False
        if upper >= top:
            break
    result.seconds = round(time.perf_counter() - began, 3)
    return result


def rebuild(*, now: datetime | None = None) -> dict[str, Any]:
    """Recompute every fact and every rollup row from the raw rows, in one transaction (the screen keeps
    reading the old rows until it commits, on PostgreSQL)."""
    t = _tables()
    began = time.perf_counter()
    clock = now or timezone.now()
    timings: dict[str, float] = {}
    with transaction.atomic():
        cursor = _lock_cursor()
        if connection.vendor == "postgresql":
            # The rebuild's GROUP BYs over millions of facts: sort and hash in memory, for this transaction only.
            work_mem = str(getattr(settings, "TONGXIN_DASHBOARD_REBUILD_WORK_MEM", "256MB"))
            _execute("SELECT set_config('work_mem', %s, true)", [work_mem])
        # Read the cursor position first: events committed while the rebuild runs are folded again
        # by the next fold, which is harmless.
        top = _max_event_id()
        mark = time.perf_counter()
        maps_ensure(force=True)
        for name in ("rollup", "af", "of"):
            if connection.vendor == "postgresql":
                _execute(f"TRUNCATE {t[name]}")
            else:
                _execute(f"DELETE FROM {t[name]}")
        timings["clear"] = time.perf_counter() - mark
        mark = time.perf_counter()
        for build in (_order_fact_sql, _assignment_fact_sql):
            sql, params = build(clock, None)
            _execute(sql, params)
        timings["facts"] = time.perf_counter() - mark
        if connection.vendor == "postgresql":
            _execute(f"ANALYZE {t['of']}")
            _execute(f"ANALYZE {t['af']}")
        mark = time.perf_counter()
        sql, params = _contribution_sql(None)
        columns = ", ".join(COUNTERS)
        # Written in the order of the screen's index (area, dim, day), so that one area's rows sit on
        # neighbouring pages: "open and overdue now" reads all the days of an area.
        rows = _execute(f"INSERT INTO {t['rollup']} (day, area_id, dim, key, {columns}) {sql} "
                        "ORDER BY area_id, dim, day, k", params)
        timings["rollups"] = time.perf_counter() - mark
        if connection.vendor == "postgresql":
            _execute(f"ANALYZE {t['rollup']}")
        cursor.last_event_id = top
        cursor.clock = clock
        cursor.folded_at = cursor.rebuilt_at = timezone.now()
        cursor.rebuild_seconds = round(time.perf_counter() - began, 3)
        cursor.save()
    return {"rows": rows, "last_event_id": top, "seconds": round(time.perf_counter() - began, 3),
            **{f"{k}_seconds": round(v, 3) for k, v in timings.items()}}


def cursor_status() -> dict[str, Any]:
    cursor = RollupCursor.objects.filter(name="rollup").first()
    if cursor is None:
        return {"last_event_id": 0, "clock": None, "folded_at": None, "rebuilt_at": None}
    return {"last_event_id": cursor.last_event_id, "clock": cursor.clock, "folded_at": cursor.folded_at,
            "rebuilt_at": cursor.rebuilt_at, "rebuild_seconds": cursor.rebuild_seconds}
