"""Reads of the points room, scoped: staff see residents, items, activities and awards of their areas
only (anything else is 404); a resident sees their own accounts, entries and redemptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Sum

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope
from tongxin.core.errors import NotFound

from .choices import AwardStatus, PointKind, RedemptionStatus
from .models import Account, Activity, Appeal, Entry, Item, PendingAward, Redemption, Signup, Tier

# Who runs points in an area: the grid worker of the grid, the community's supervisor and leader.
POINTS_STAFF_ROLES = frozenset({Role.GRID_WORKER, Role.SUPERVISOR, Role.LEADER})
# The points supervision committee (积分监督委员会): the second person who approves large awards.
COMMITTEE_ROLES = frozenset({Role.SUPERVISOR, Role.LEADER})


def resident_area_paths(resident: Any) -> list[str]:
    """The area paths of the resident's household (community, and grid when known)."""
    household = resident.household
    paths = [household.area.path]
    if household.grid_id is not None:
        paths.append(household.grid.path)
    return paths


def actor_covers_resident(actor: Any, resident: Any, roles: frozenset[str]) -> bool:
    scope = actor_scope(actor)
    if scope.is_admin:
        return True
    return any(scope.area_role_covers(roles, path) for path in resident_area_paths(resident))


def _area_filter(actor: Any, roles: frozenset[str], field: str) -> Q | None:
    """Rows whose ``field`` (an area path) lies in the actor's areas for ``roles``; None = all (admin)."""
    scope = actor_scope(actor)
    if scope.is_admin:
        return None
    paths = [p for role in roles for p in scope.area_roles.get(role, ())]
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


def _scoped(qs: QuerySet[Any], actor: Any, roles: frozenset[str], field: str) -> QuerySet[Any]:
    q = _area_filter(actor, roles, field)
    return qs if q is None else qs.filter(q)


def is_points_staff(actor: Any) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or any(scope.area_roles.get(r) for r in POINTS_STAFF_ROLES)


def is_committee(actor: Any) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or any(scope.area_roles.get(r) for r in COMMITTEE_ROLES)


def is_clerk(actor: Any) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or bool(scope.area_roles.get(Role.CLERK))


def items_visible_to(actor: Any) -> QuerySet[Item]:
    return _scoped(Item.objects.select_related("area"), actor, POINTS_STAFF_ROLES, "area__path")


def activities_visible_to(actor: Any) -> QuerySet[Activity]:
    return _scoped(Activity.objects.select_related("area"), actor, POINTS_STAFF_ROLES, "area__path")


def activity_get(*, actor: Any, activity_id: Any) -> Activity:
    try:
        return activities_visible_to(actor).get(pk=int(activity_id))
    except (TypeError, ValueError, Activity.DoesNotExist):
        raise NotFound() from None


def activity_signups(activity: Activity) -> list[Signup]:
    return list(activity.signups.select_related("resident").order_by("created_at"))


def residents_visible_to(actor: Any) -> QuerySet[Any]:
    from tongxin.residents.models import Resident

    scope = actor_scope(actor)
    qs = Resident.objects.select_related("household__area", "household__grid").filter(active=True)
    if scope.is_admin:
        return qs
    q = _area_filter(actor, POINTS_STAFF_ROLES, "household__area__path") or Q()
    q |= _area_filter(actor, POINTS_STAFF_ROLES, "household__grid__path") or Q()
    return qs.filter(q)


def resident_for_staff(*, actor: Any, resident_id: Any) -> Any:
    from tongxin.residents.models import Resident

    try:
        return residents_visible_to(actor).get(pk=int(resident_id))
    except (TypeError, ValueError, Resident.DoesNotExist):
        raise NotFound() from None


def pending_awards_for(actor: Any) -> list[PendingAward]:
    qs = PendingAward.objects.filter(status=AwardStatus.PENDING).select_related("resident__household", "rule", "proposed_by")
    scope = actor_scope(actor)
    if not scope.is_admin:
        q = (_area_filter(actor, COMMITTEE_ROLES, "resident__household__area__path") or Q())
        q |= (_area_filter(actor, COMMITTEE_ROLES, "resident__household__grid__path") or Q())
        qs = qs.filter(q)
    return list(qs.order_by("proposed_at")[:200])


def pending_award_get(*, actor: Any, award_id: Any) -> PendingAward:
    try:
        pk = int(award_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    award = PendingAward.objects.select_related("resident__household__area", "resident__household__grid").filter(pk=pk).first()
    if award is None or not actor_covers_resident(actor, award.resident, COMMITTEE_ROLES):
        raise NotFound()
    return award


def appeals_pending_for(actor: Any) -> list[Appeal]:
    qs = Appeal.objects.filter(status="pending").select_related("entry__account__resident__household")
    scope = actor_scope(actor)
    if not scope.is_admin:
        q = (_area_filter(actor, POINTS_STAFF_ROLES, "entry__account__resident__household__area__path") or Q())
        q |= (_area_filter(actor, POINTS_STAFF_ROLES, "entry__account__resident__household__grid__path") or Q())
        qs = qs.filter(q)
    return list(qs.order_by("created_at")[:200])


def appeal_get(*, actor: Any, appeal_id: Any) -> Appeal:
    try:
        pk = int(appeal_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    appeal = Appeal.objects.select_related("entry__account__resident__household__area").filter(pk=pk).first()
    if appeal is None or not actor_covers_resident(actor, appeal.entry.account.resident, POINTS_STAFF_ROLES):
        raise NotFound()
    return appeal


# --- the resident's own -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Balances:
    material: int
    virtue: int


def balances_of(resident: Any) -> Balances:
    rows = dict(Account.objects.filter(resident_id=resident.pk).values_list("kind", "balance"))
    return Balances(material=rows.get(PointKind.MATERIAL, 0), virtue=rows.get(PointKind.VIRTUE, 0))


def entries_of(resident: Any, *, limit: int = 50) -> list[Entry]:
    return list(
        Entry.objects.filter(account__resident_id=resident.pk).select_related("account", "appeal", "reversed_by")
        .order_by("-created_at", "-id")[:limit]
    )


def tier_for(virtue_points: int) -> Tier | None:
    return Tier.objects.filter(min_points__lte=virtue_points).order_by("-min_points").first()


def tiers() -> list[Tier]:
    return list(Tier.objects.order_by("min_points"))


def items_for_resident(resident: Any) -> list[Item]:
    paths = resident_area_paths(resident)
    items = Item.objects.filter(active=True).select_related("area")
    return [i for i in items.order_by("price", "id")[:200] if any(p.startswith(i.area.path) for p in paths)]


def redemptions_of(resident: Any, *, limit: int = 50) -> list[Redemption]:
    return list(Redemption.objects.filter(resident_id=resident.pk).select_related("item").order_by("-created_at")[:limit])


def redemption_of(resident: Any, redemption_id: Any) -> Redemption:
    try:
        return Redemption.objects.select_related("item").get(pk=int(redemption_id), resident_id=resident.pk)
    except (TypeError, ValueError, Redemption.DoesNotExist):
        raise NotFound() from None


def activities_for_resident(resident: Any) -> list[Activity]:
    from django.utils import timezone

    paths = resident_area_paths(resident)
    rows = Activity.objects.filter(ends_at__gt=timezone.now()).select_related("area").order_by("starts_at")[:200]
    return [a for a in rows if any(p.startswith(a.area.path) for p in paths)]


def signups_of(resident: Any) -> dict[int, Signup]:
    return {s.activity_id: s for s in Signup.objects.filter(resident_id=resident.pk)}


# --- verification ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mismatch:
    account_id: int
    stored: int
    summed: int


def ledger_verify() -> tuple[int, list[Mismatch]]:
    """Every account's stored balance against the sum of its entries: (accounts checked, mismatches)."""
    sums = dict(Entry.objects.values("account_id").annotate(total=Sum("amount")).values_list("account_id", "total"))
    checked, bad = 0, []
    for pk, balance in Account.objects.values_list("pk", "balance").iterator():
        checked += 1
        total = sums.get(pk, 0) or 0
        if total != balance:
            bad.append(Mismatch(account_id=pk, stored=balance, summed=total))
    return checked, bad


def redemption_pending_count() -> int:
    return Redemption.objects.filter(status=RedemptionStatus.PENDING).count()
