"""Every read of mediation that involves permission or aggregation. Reads start from the cases the actor
may see: mediators, leaders and supervisors see the cases in the areas of those roles; admins see all;
anyone else sees nothing (so a case outside one's jurisdiction answers 404, like a missing one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope

from .choices import (
    CONCLUDED_STATUSES,
    LEVEL_DEPTH,
    SETTLED_STATUSES,
    TARGET_GOALS,
    FailureGuidance,
    Level,
    Source,
    Status,
    Target,
)
from .models import CaseEvent, CaseWorkOrderLink, DisputeCase, MediationOrg, Mediator, Party
from .personal import id_number_digests, looks_like_resident_id

READER_ROLES = frozenset({Role.MEDIATOR, Role.LEADER, Role.SUPERVISOR})
COMMUNITY_DEPTH = LEVEL_DEPTH[Level.COMMUNITY]
TOWN_DEPTH = LEVEL_DEPTH[Level.TOWN]


def _paths_q(paths: list[str], field_name: str = "area_path") -> Q | None:
    outer = [p for p in paths if not any(p != o and p.startswith(o) for o in paths)]
    if not outer:
        return None
    q = Q()
    for path in sorted(set(outer)):
        q |= Q(**{f"{field_name}__startswith": path})
    return q


def cases_visible_to(actor: Any) -> QuerySet[DisputeCase]:
    scope = actor_scope(actor)
    if scope.is_admin:
        return DisputeCase.objects.all()
    paths = [p for role in READER_ROLES for p in scope.area_roles.get(role, ())]
    q = _paths_q(paths)
    if q is None:
        return DisputeCase.objects.none()
    return DisputeCase.objects.filter(q)


def can_read_mediation(actor: Any) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or bool(set(scope.area_roles) & READER_ROLES)


def case_get(*, actor: Any, case_id: Any) -> DisputeCase | None:
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        return None
    return (
        cases_visible_to(actor)
        .select_related("area", "received_org", "owner_org", "case_leader", "received_by", "source_work_order")
        .filter(pk=pk)
        .first()
    )


def case_timeline(case: DisputeCase) -> list[CaseEvent]:
    return list(case.events.select_related("org").order_by("at", "id"))


def case_pending_handover(case: DisputeCase) -> Any:
    return case.handovers.filter(status="pending").select_related("from_org", "to_org").first()


# --- organisations and the expert pool ----------------------------------------------------------

def org_list(*, level: str | None = None, kind: str | None = None, speciality: str | None = None,
             area_path: str | None = None, active_only: bool = True) -> list[MediationOrg]:
    qs = MediationOrg.objects.select_related("area").defer("area__boundary")
    if active_only:
        qs = qs.filter(active=True)
    if level:
        qs = qs.filter(level=level)
    if kind:
        qs = qs.filter(kind=kind)
    orgs = list(qs)
    if speciality:  # a JSON list: filtered in Python, portable across SQLite and PostgreSQL
        orgs = [o for o in orgs if not o.specialities or speciality in o.specialities]
    if area_path:
        orgs = [o for o in orgs if area_path.startswith(o.area_path)]
    return orgs


def handover_targets(case: DisputeCase, kind: str) -> list[MediationOrg]:
    """Where a case may be handed: 分流 to an organisation at the same level or below, 上报 to one exactly
    one level up; either way the organisation's area must contain the case's place."""
    depth = LEVEL_DEPTH[Level(case.level)]
    result = []
    for org in org_list(area_path=case.area_path):
        if org.pk == case.owner_org_id:
            continue
        org_depth = LEVEL_DEPTH[Level(org.level)]
        if (kind == "escalate" and org_depth == depth - 1) or (kind == "route" and org_depth >= depth):
            result.append(org)
    return result


def mediator_search(*, speciality: str | None = None, language: str | None = None, experts_only: bool = False,
                    level: str | None = None, limit: int = 200) -> list[Mediator]:
    """The expert pool (专家库): mediators by speciality, language and level."""
    qs = Mediator.objects.filter(active=True, org__active=True).select_related("org")
    if experts_only:
        qs = qs.filter(is_expert=True)
    if level:
        qs = qs.filter(org__level=level)
    result = []
    for mediator in qs.order_by("-is_expert", "name"):
        if speciality and speciality not in mediator.specialities:
            continue
        if language and language not in mediator.languages:
            continue
        result.append(mediator)
        if len(result) >= limit:
            break
    return result


# --- the case list ------------------------------------------------------------------------------

@dataclass
class CaseFilters:
    status: str | None = None
    level: str | None = None  # the received level
    area_path: str | None = None
    dispute_type: str | None = None
    date_from: date | None = None  # on concluded_at when a target is chosen, else on received_at
    date_to: date | None = None
    target: str | None = None
    met: bool | None = None  # with a target: only the cases that meet (True) or miss (False) it
    follow_up_overdue: bool = False
    q: str = ""


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def target_base(target: str) -> tuple[Q, Q]:
    """(denominator, numerator) of a target as filters on concluded cases. Definitions: docs/mediation.md."""
    concluded = Q(status__in=CONCLUDED_STATUSES, concluded_at__isnull=False)
    settled = Q(status__in=SETTLED_STATUSES)
    if target == Target.WITHIN_COMMUNITY:
        return concluded & Q(received_level=Level.COMMUNITY), settled & Q(max_depth__gte=COMMUNITY_DEPTH)
    if target == Target.WITHIN_TOWN:
        return (concluded & Q(received_level__in=[Level.COMMUNITY, Level.TOWN]),
                settled & Q(max_depth__gte=TOWN_DEPTH))
    if target == Target.BEFORE_LITIGATION:
        return concluded & ~Q(source=Source.PETITION), settled
    if target == Target.WITHIN_CITY:
        return concluded, ~Q(failure_guidance=FailureGuidance.PETITION)
    raise ValueError(target)


def case_list(*, actor: Any, filters: CaseFilters) -> QuerySet[DisputeCase]:
    qs = cases_visible_to(actor).select_related("area", "owner_org", "received_org")
    f = filters
    if f.status:
        qs = qs.filter(status=f.status)
    if f.level:
        qs = qs.filter(received_level=f.level)
    if f.area_path:
        qs = qs.filter(area_path__startswith=f.area_path)
    if f.dispute_type:
        qs = qs.filter(dispute_type=f.dispute_type)
    moment = "received_at"
    if f.target:
        denominator, numerator = target_base(f.target)
        qs = qs.filter(denominator)
        if f.met is True:
            qs = qs.filter(numerator)
        elif f.met is False:
            qs = qs.exclude(numerator)
        moment = "concluded_at"
    if f.date_from:
        qs = qs.filter(**{f"{moment}__gte": _day_start(f.date_from)})
    if f.date_to:
        qs = qs.filter(**{f"{moment}__lt": _day_start(f.date_to + timedelta(days=1))})
    if f.follow_up_overdue:
        qs = qs.filter(status=Status.AGREED, next_follow_up_at__lt=timezone.now())
    if f.q:
        match = Q(number__icontains=f.q) | Q(title__icontains=f.q)
        if looks_like_resident_id(f.q):
            # Earlier cases of the same person: the ID number is compared by its keyed digest (the table
            # holds no clear number), within the cases the actor may see anyway.
            digests = id_number_digests(f.q)
            match |= Q(pk__in=Party.objects.filter(id_digest__in=digests).values("case_id"))
        qs = qs.filter(match)
    return qs.order_by("-received_at", "-id")


# --- the numbers --------------------------------------------------------------------------------

def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def mediation_numbers(*, actor: Any, area_path: str | None = None, level: str | None = None,
                      date_from: date | None = None, date_to: date | None = None) -> dict[str, Any]:
    """Received and concluded in the period, the success rate and the four targets.

    ``received`` counts cases received in the period; everything else counts cases concluded (agreement
    or failure, first time) in the period, wherever they were received. ``level`` restricts to cases
    received at that level."""
    qs = cases_visible_to(actor)
    if area_path:
        qs = qs.filter(area_path__startswith=area_path)
    if level:
        qs = qs.filter(received_level=level)
    received_qs, concluded_qs = qs, qs.filter(status__in=CONCLUDED_STATUSES, concluded_at__isnull=False)
    if date_from:
        received_qs = received_qs.filter(received_at__gte=_day_start(date_from))
        concluded_qs = concluded_qs.filter(concluded_at__gte=_day_start(date_from))
    if date_to:
        end = _day_start(date_to + timedelta(days=1))
        received_qs = received_qs.filter(received_at__lt=end)
        concluded_qs = concluded_qs.filter(concluded_at__lt=end)
    aggregates: dict[str, Any] = {
        "concluded": Count("pk"), "settled": Count("pk", filter=Q(status__in=SETTLED_STATUSES)),
        "judicial": Count("pk", filter=Q(judicial_confirmed_at__isnull=False)),
    }
    for target in Target:
        denominator, numerator = target_base(target)
        aggregates[f"{target}_d"] = Count("pk", filter=denominator)
        aggregates[f"{target}_n"] = Count("pk", filter=denominator & numerator)
    row = concluded_qs.aggregate(**aggregates)
    overdue = qs.filter(status=Status.AGREED, next_follow_up_at__lt=timezone.now()).count()
    targets = []
    for target in Target:
        d, n = row[f"{target}_d"], row[f"{target}_n"]
        rate = _rate(n, d)
        goal = TARGET_GOALS[target]
        targets.append({"key": str(target), "label": str(target.label), "numerator": n, "denominator": d,
                        "rate": rate, "goal": goal, "met": rate is not None and rate >= goal,
                        "percent": None if rate is None else round(rate * 100, 1)})
    return {
        "received": received_qs.count(), "concluded": row["concluded"], "settled": row["settled"],
        "success_rate": _rate(row["settled"], row["concluded"]),
        "success_percent": None if not row["concluded"] else round(row["settled"] * 100 / row["concluded"], 1),
        "judicial_confirmed": row["judicial"],
        "follow_up_overdue": overdue, "targets": targets,
    }


def numbers_by_level(*, actor: Any, area_path: str | None = None, date_from: date | None = None,
                     date_to: date | None = None) -> list[dict[str, Any]]:
    return [{"level": str(lv), "label": str(lv.label),
             **mediation_numbers(actor=actor, area_path=area_path, level=lv, date_from=date_from, date_to=date_to)}
            for lv in reversed(Level)]


def numbers_by_area(*, actor: Any, area_path: str | None = None, date_from: date | None = None,
                    date_to: date | None = None) -> list[dict[str, Any]]:
    """One row per area one level below ``area_path`` (default: below the actor's outermost area), down
    to communities: the banners of the city, the towns of a banner…"""
    from tongxin.regions.models import Area

    scope = actor_scope(actor)
    if area_path is None:
        paths = [p for role in READER_ROLES for p in scope.area_roles.get(role, ())]
        if scope.is_admin:
            root = Area.objects.filter(parent__isnull=True).only("path").order_by("path").first()
            paths = [root.path] if root else []
        outer = sorted(p for p in set(paths) if not any(p != o and p.startswith(o) for o in paths))
        if len(outer) != 1:
            return []
        area_path = outer[0]
    parent = Area.objects.filter(path=area_path).only("pk").first()
    if parent is None:
        return []
    children = (Area.objects.filter(parent=parent, level__in=["district", "town", "community"])
                .defer("boundary").order_by("code"))
    return [{"code": child.code, "label": child.name,
             **mediation_numbers(actor=actor, area_path=child.path, date_from=date_from, date_to=date_to)}
            for child in children]


def follow_ups_due(*, before: datetime) -> QuerySet[DisputeCase]:
    """Agreed cases whose next follow-up falls before ``before`` (indexed on status, next_follow_up_at)."""
    return (DisputeCase.objects.filter(status=Status.AGREED, next_follow_up_at__isnull=False,
                                       next_follow_up_at__lt=before)
            .select_related("owner_org").order_by("next_follow_up_at"))


def cases_for_work_order(*, actor: Any, order_id: int) -> list[tuple[DisputeCase, str]]:
    """The dispute cases linked to a work order (it came from the order, or raised it) that the actor
    may see, with the link's direction — for the order page."""
    links = (CaseWorkOrderLink.objects.filter(work_order_id=order_id, case__in=cases_visible_to(actor))
             .select_related("case").order_by("created_at"))
    return [(link.case, link.get_direction_display()) for link in links]
