"""Department suggestion: the dispatch catalogue first, then what similar past orders taught.

1. The catalogue (``workorders.selectors.dispatch_suggest``): category × area → lead and co-handlers,
   the most specific rule winning.
2. Where the catalogue has no answer, the department that finally handled similar past orders: closed
   orders are counted by (category or one of its ancestors) × (area or one of its ancestors) → final lead
   department, i.e. the lead at closing, after every return, reassignment or forced dispatch. The most
   specific cell with at least ``MIN_SUPPORT`` orders and a clear majority answers
   (``LearnedRouting.suggest``), with the share of those orders the department handled.

``routing_evaluate`` measures both against the final department on the platform's history (the demo's,
in docs/insight.md): the catalogue on every dispatched, closed order; the learned routing on the newest
20 % of them, learnt from the older 80 % only.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

MIN_SUPPORT = 3
MIN_CONFIDENCE = 0.34  # Wilson lower bound of the leading share: 3 of 3 passes (0.44), 4 of 9 does not
CACHE_SECONDS = 900


@dataclass
class Suggestion:
    department_id: int | None
    source: str  # catalogue | history | none
    reason: str
    co_department_ids: list[int] = field(default_factory=list)
    share: float | None = None
    support: int = 0


def _chain(path: str) -> list[int]:
    return [int(p) for p in path.strip("/").split("/") if p]


@dataclass
class LearnedRouting:
    """(category id, area id) → Counter of final lead department ids; None stands for "any"."""

    cells: dict[tuple[int | None, int | None], Counter] = field(default_factory=lambda: defaultdict(Counter))
    category_paths: dict[int, list[int]] = field(default_factory=dict)
    orders: int = 0

    def add(self, category_id: int | None, area_path: str, department_id: int) -> None:
        categories: list[int | None] = [None, *(self.category_paths.get(category_id, []) if category_id else [])]
        areas: list[int | None] = [None, *_chain(area_path)]
        for c in categories:
            for a in areas:
                self.cells[(c, a)][department_id] += 1
        self.orders += 1

    def suggest(self, category_id: int | None, area_path: str, *, min_support: int = MIN_SUPPORT) -> Suggestion | None:
        """The most specific cell (category or ancestor × area or ancestor; deeper category first, then
        deeper area — the catalogue's precedence) with at least ``min_support`` orders whose leading
        department is a clear majority: the Wilson lower bound of its share ≥ ``MIN_CONFIDENCE``. A
        cell mixing several departments (a city-wide cell, where each district has its own bureau) is
        passed over for a more general one that is clear, or gives no answer. The "any category" cells
        never answer (they would send every unknown request to the busiest department)."""
        categories = list(reversed(self.category_paths.get(category_id, []) if category_id else []))
        areas: list[int | None] = [*reversed(_chain(area_path)), None]
        for c in categories:
            for a in areas:
                counter = self.cells.get((c, a))
                if not counter:
                    continue
                total = sum(counter.values())
                if total < min_support:
                    continue
                department_id, count = counter.most_common(1)[0]
                if wilson_lower_bound(count, total) < MIN_CONFIDENCE:
                    continue
                return Suggestion(department_id=department_id, source="history", share=round(count / total, 3),
                                  support=total, reason=_("历史工单：同类诉求 %(total)s 件中 %(count)s 件最终由该单位办理") % {
                                      "total": total, "count": count})
        return None


def wilson_lower_bound(successes: int, trials: int, z: float = 1.96) -> float:
    """Lower end of the Wilson score interval (95 %) of a proportion."""
    if trials == 0:
        return 0.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return (centre - spread) / denominator


def category_paths() -> dict[int, list[int]]:
    from tongxin.workorders.models import Category

    return {pk: _chain(path) for pk, path in Category.objects.values_list("pk", "path")}


def closed_routing_rows(*, before: Any = None) -> Iterable[tuple[int, int | None, str, int, Any]]:
    """(order id, category id, area path, final lead department id, accepted_at) of closed orders that a
    department handled (orders answered on the call by the 12345 centre are left out: they were never
    dispatched)."""
    from tongxin.accounts.choices import DepartmentKind
    from tongxin.workorders.choices import Status
    from tongxin.workorders.models import WorkOrder

    qs = (WorkOrder.objects.filter(status=Status.CLOSED, lead_department__isnull=False, dispatched_at__isnull=False)
          .exclude(lead_department__kind=DepartmentKind.CENTRE))
    if before is not None:
        qs = qs.filter(accepted_at__lt=before)
    return qs.order_by("accepted_at", "id").values_list("id", "category_id", "area_path", "lead_department_id",
                                                        "accepted_at").iterator(chunk_size=5000)


def learn_routing(rows: Iterable[tuple[int, int | None, str, int, Any]], paths: dict[int, list[int]] | None = None) -> LearnedRouting:
    routing = LearnedRouting(category_paths=paths if paths is not None else category_paths())
    for _pk, category_id, area_path, department_id, _at in rows:
        routing.add(category_id, area_path, department_id)
    return routing


_cached: tuple[float, LearnedRouting] | None = None


def learned_routing() -> LearnedRouting:
    """The routing learnt from all closed orders, rebuilt at most every ``CACHE_SECONDS`` per process."""
    global _cached
    if _cached is None or time.monotonic() - _cached[0] > CACHE_SECONDS:
        _cached = (time.monotonic(), learn_routing(closed_routing_rows()))
    return _cached[1]


def invalidate_routing_cache() -> None:
    global _cached
    _cached = None


def department_suggest(*, category_id: int | None, area_path: str, routing: LearnedRouting | None = None) -> Suggestion:
    from tongxin.workorders.selectors import dispatch_suggest

    found = dispatch_suggest(category_id=category_id, area_path=area_path)
    if found is not None:
        return Suggestion(department_id=found.lead.pk, source="catalogue", reason=found.reason,
                          co_department_ids=[d.pk for d in found.co])
    learned = (routing or learned_routing()).suggest(category_id, area_path)
    if learned is not None:
        return learned
    return Suggestion(department_id=None, source="none", reason=_("派单目录和历史工单都没有可参考的承办单位，请手动选择"))


def routing_evaluate(*, holdout: float = 0.2) -> dict[str, Any]:
    """How often each suggestion equals the final lead department, on the platform's closed orders."""
    from tongxin.workorders.models import WorkOrderAssignment
    from tongxin.workorders.selectors import dispatch_suggest

    started = time.perf_counter()
    rows = list(closed_routing_rows())
    if not rows:
        return {"orders": 0}
    paths = category_paths()
    cut = int(len(rows) * (1 - holdout))
    routing = learn_routing(rows[:cut], paths)
    catalogue_cache: dict[tuple[int | None, str], int | None] = {}
    first_lead: dict[int, int] = {}
    for order_id, department_id in (WorkOrderAssignment.objects.filter(role="lead").order_by("order_id", "assigned_at", "id")
                                    .values_list("order_id", "department_id").iterator(chunk_size=5000)):
        first_lead.setdefault(order_id, department_id)
    counts: Counter = Counter()
    for n, (order_id, category_id, area_path, final, _at) in enumerate(rows):
        key = (category_id, area_path)
        if key not in catalogue_cache:
            found = dispatch_suggest(category_id=category_id, area_path=area_path)
            catalogue_cache[key] = found.lead.pk if found else None
        catalogue = catalogue_cache[key]
        counts["orders"] += 1
        counts["catalogue_answered"] += catalogue is not None
        counts["catalogue_right"] += catalogue == final
        counts["first_dispatch_right"] += first_lead.get(order_id) == final
        if n >= cut:
            learned = routing.suggest(category_id, area_path)
            counts["test_orders"] += 1
            counts["learned_answered"] += learned is not None
            counts["learned_right"] += learned is not None and learned.department_id == final
            combined = catalogue if catalogue is not None else (learned.department_id if learned else None)
            counts["combined_right"] += combined == final
    rate = lambda a, b: round(counts[a] / counts[b], 4) if counts[b] else None  # noqa: E731
    return {
        "orders": counts["orders"], "test_orders": counts["test_orders"],
        "catalogue_coverage": rate("catalogue_answered", "orders"),
        "catalogue_accuracy": rate("catalogue_right", "orders"),
        "first_dispatch_accuracy": rate("first_dispatch_right", "orders"),
        "learned_coverage": rate("learned_answered", "test_orders"),
        "learned_accuracy": rate("learned_right", "test_orders"),
        "combined_accuracy_on_test": rate("combined_right", "test_orders"),
        "seconds": round(time.perf_counter() - started, 1),
        "measured_at": timezone.now().isoformat(),
    }
