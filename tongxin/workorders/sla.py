"""SLA policies: which limits apply to an order, and the deadlines they give.

Default policy (seeded as "默认时限", editable in the admin; docs/workorders.md explains it):

| urgency  | sign-off            | completion                                                        |
|----------|---------------------|-------------------------------------------------------------------|
| normal   | 2 working hours     | 5 working days; inquiry 1, praise 3, report 10, suggestion 10     |
| urgent   | 1 natural hour      | 24 natural hours                                                  |
| critical | 0.5 natural hour    | 2 natural hours                                                   |

The clock turns yellow after 80 % of the allowed time (``warning_ratio``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from tongxin.core.choices import LimitUnit
from tongxin.core.workcalendar import (
    WorkCalendar,
    add_working_time,
    deadline_after,
    load_calendar,
    working_time_between,
)

from .choices import Kind, Urgency
from .models import Category, SlaPolicy, SlaRule


@dataclass(frozen=True)
class Limit:
    value: float
    unit: str


@dataclass(frozen=True)
class Limits:
    sign: Limit
    completion: Limit
    warning_ratio: float


# (urgency, kind or "") → (sign value, unit, completion value, unit)
DEFAULT_RULES: dict[tuple[str, str], tuple[float, str, float, str]] = {
    (Urgency.NORMAL, ""): (2, LimitUnit.WORKING_HOURS, 5, LimitUnit.WORKING_DAYS),
    (Urgency.NORMAL, Kind.INQUIRY): (2, LimitUnit.WORKING_HOURS, 1, LimitUnit.WORKING_DAYS),
    (Urgency.NORMAL, Kind.PRAISE): (2, LimitUnit.WORKING_HOURS, 3, LimitUnit.WORKING_DAYS),
    (Urgency.NORMAL, Kind.REPORT): (2, LimitUnit.WORKING_HOURS, 10, LimitUnit.WORKING_DAYS),
    (Urgency.NORMAL, Kind.SUGGESTION): (2, LimitUnit.WORKING_HOURS, 10, LimitUnit.WORKING_DAYS),
    (Urgency.URGENT, ""): (1, LimitUnit.NATURAL_HOURS, 24, LimitUnit.NATURAL_HOURS),
    (Urgency.CRITICAL, ""): (0.5, LimitUnit.NATURAL_HOURS, 2, LimitUnit.NATURAL_HOURS),
}
DEFAULT_WARNING_RATIO = 0.8


@transaction.atomic
def sla_default_policy_ensure() -> SlaPolicy:
    """Create the documented default policy if there is none (idempotent)."""
    policy = SlaPolicy.objects.filter(is_default=True).first()
    if policy:
        return policy
    policy = SlaPolicy.objects.create(name="默认时限", is_default=True, warning_ratio=DEFAULT_WARNING_RATIO)
    SlaRule.objects.bulk_create(
        SlaRule(policy=policy, urgency=u, kind=k, sign_value=sv, sign_unit=su, completion_value=cv, completion_unit=cu)
        for (u, k), (sv, su, cv, cu) in DEFAULT_RULES.items()
    )
    return policy


# Policies and the category → policy map are small and read on every dispatch: cache them briefly.
# The data: rules by policy and (urgency, kind), warning ratio by policy, the default policy's id, and
# category → (parent id, policy id).
_SlaData = tuple[dict[int, dict[tuple[str, str], SlaRule]], dict[int, float], int | None,
                 dict[int, tuple[int | None, int | None]]]
_cache: dict[str, tuple[float, _SlaData]] = {}  # "data" → (loaded at, data): one entry, replaced whole
_CACHE_SECONDS = 30.0


def invalidate_sla_cache() -> None:
    _cache.clear()


def _load() -> _SlaData:
    hit = _cache.get("data")
    if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:
        return hit[1]
    rules: dict[int, dict[tuple[str, str], SlaRule]] = {}
    for rule in SlaRule.objects.all():
        rules.setdefault(rule.policy_id, {})[(rule.urgency, rule.kind)] = rule
    ratios = dict(SlaPolicy.objects.values_list("id", "warning_ratio"))
    default_id = SlaPolicy.objects.filter(is_default=True).values_list("id", flat=True).first()
    # Both foreign keys are nullable (django-stubs types their values_list as plain int).
    categories: dict[int, tuple[int | None, int | None]] = {
        pk: (parent_id, policy_id)
        for pk, parent_id, policy_id in Category.objects.values_list("id", "parent_id", "sla_policy_id")
    }
    data = (rules, ratios, default_id, categories)
    _cache["data"] = (time.monotonic(), data)
    return data


def limits_for(*, category_id: int | None, kind: str, urgency: str) -> Limits:
    """The limits for an order: the nearest policy up the category tree, else the default policy,
    else the built-in defaults; within a policy the (urgency, kind) row beats (urgency, any)."""
    rules, ratios, default_id, categories = _load()
    policy_id = None
    seen = 0
    node = category_id
    while node is not None and seen < 10:
        parent_id, pid = categories.get(node, (None, None))
        if pid is not None:
            policy_id = pid
            break
        node = parent_id
        seen += 1
    policy_id = policy_id or default_id
    policy_rules = rules.get(policy_id or -1, {})
    rule = policy_rules.get((urgency, kind)) or policy_rules.get((urgency, ""))
    if rule is not None:
        return Limits(Limit(rule.sign_value, rule.sign_unit), Limit(rule.completion_value, rule.completion_unit),
                      ratios.get(policy_id or -1, DEFAULT_WARNING_RATIO))
    sv, su, cv, cu = DEFAULT_RULES.get((urgency, kind)) or DEFAULT_RULES[(urgency, "")]
    return Limits(Limit(sv, su), Limit(cv, cu), DEFAULT_WARNING_RATIO)


@dataclass(frozen=True)
class Clock:
    due_at: datetime
    warn_at: datetime


def warn_between(start: datetime, due: datetime, unit: str, ratio: float, calendar: WorkCalendar | None = None) -> datetime:
    """The warning moment for a deadline set by hand (an approved extension): ``ratio`` of the time from
    ``start`` to ``due``, counted like the limit it replaces: working time unless the limit is in natural
    hours (so the yellow light never falls on a Sunday the order's clock does not count)."""
    if getattr(unit, "value", unit) == LimitUnit.NATURAL_HOURS:
        return start + (due - start) * ratio
    calendar = calendar or load_calendar()
    return add_working_time(start, working_time_between(start, due, calendar) * ratio, calendar)


def clock(start: datetime, limit: Limit, ratio: float, calendar: WorkCalendar | None = None) -> Clock:
    calendar = calendar or load_calendar()
    due = deadline_after(start, limit.value, limit.unit, calendar)
    warn = deadline_after(start, limit.value * ratio, limit.unit, calendar)
    return Clock(due_at=due, warn_at=warn)
