"""Reads of consultations: the staff's topics scoped by jurisdiction (outside: 404), the resident's
topics (only those they may vote in), and the tally with its Art. 278 verdict."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope
from tongxin.core.errors import NotFound

from .choices import MAJOR_MATTERS, Stance, Status
from .models import Elector, Option, Participation, ParticipationChoice, Topic
from .tally import Counts, Verdict, art278_verdict, percent, ratio

# Grid workers run consultations in their area; leaders oversee (read, results, export); admins do both.
WRITER_ROLES = frozenset({Role.GRID_WORKER})
READER_ROLES = frozenset({Role.GRID_WORKER, Role.LEADER})


def _paths_q(paths: list[str] | tuple[str, ...], field_name: str = "area_path") -> Q | None:
    if not paths:
        return None
    q = Q()
    for path in paths:
        q |= Q(**{f"{field_name}__startswith": path})
    return q


def _paths(actor: Any, roles: frozenset[str]) -> list[str]:
    scope = actor_scope(actor)
    return [p for role in roles for p in scope.area_roles.get(role, ())]


def can_read(actor: Any) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or bool(set(scope.area_roles) & READER_ROLES)


def can_write_somewhere(actor: Any) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or bool(set(scope.area_roles) & WRITER_ROLES)


def can_write_area(actor: Any, area_path: str) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or any(area_path.startswith(p) for p in _paths(actor, WRITER_ROLES))


def topics_visible_to(actor: Any) -> QuerySet[Topic]:
    scope = actor_scope(actor)
    if scope.is_admin:
        return Topic.objects.all()
    q = _paths_q(_paths(actor, READER_ROLES))
    return Topic.objects.filter(q) if q is not None else Topic.objects.none()


def topic_list(*, actor: Any, status: str = "", limit: int = 200) -> list[Topic]:
    qs = topics_visible_to(actor).select_related("area", "building")
    if status:
        qs = qs.filter(status=status)
    return list(qs.order_by("-created_at", "-id")[:limit])


def topic_get(*, actor: Any, pk: Any) -> Topic:
    """A topic the actor may read; missing and outside the jurisdiction are both 404."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    topic = topics_visible_to(actor).select_related("area", "building").filter(pk=pk).first()
    if topic is None:
        raise NotFound()
    return topic


def areas_writable_by(actor: Any) -> QuerySet[Any]:
    """The areas the actor may scope a topic to (communities and below are the usual choice)."""
    from tongxin.regions.models import Area

    scope = actor_scope(actor)
    qs = Area.objects.defer("boundary")
    if scope.is_admin:
        return qs
    q = _paths_q(_paths(actor, WRITER_ROLES), "path")
    return qs.filter(q) if q is not None else qs.none()


def buildings_writable_by(actor: Any, *, limit: int = 500) -> list[Any]:
    """The buildings the actor may scope a topic to (those of their writer areas; admins: all)."""
    from tongxin.regions.models import Area
    from tongxin.residents.selectors import buildings_in_scope

    if actor_scope(actor).is_admin:
        qs = buildings_in_scope()
    else:
        roots = list(Area.objects.defer("boundary").filter(path__in=_paths(actor, WRITER_ROLES)))
        if not roots:
            return []
        qs = buildings_in_scope(area=roots[0])
        for root in roots[1:]:
            qs = qs | buildings_in_scope(area=root)
    return list(qs.select_related("area").order_by("area_id", "name")[:limit])


# --- the resident ----------------------------------------------------------------------------------

def voter_keys(*, household_id: int, resident_id: int) -> list[str]:
    return [f"h{household_id}", f"r{resident_id}"]


def resident_topics(*, household_id: int, resident_id: int, limit: int = 50) -> list[Topic]:
    """Topics the resident (or their household) is an elector of, open ones first."""
    keys = voter_keys(household_id=household_id, resident_id=resident_id)
    topic_ids = Elector.objects.filter(voter_key__in=keys).values("topic_id")
    return list(Topic.objects.filter(pk__in=topic_ids).exclude(status=Status.DRAFT)
                .order_by("status", "closes_at", "-id")[:limit])


def resident_elector(*, topic: Topic, household_id: int, resident_id: int) -> Elector | None:
    keys = voter_keys(household_id=household_id, resident_id=resident_id)
    return Elector.objects.filter(topic=topic, voter_key__in=keys).first()


def resident_topic_get(*, pk: Any, household_id: int, resident_id: int) -> tuple[Topic, Elector]:
    """A topic the resident may vote in (404 for every other: another scope, a draft, none)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    topic = Topic.objects.filter(pk=pk).exclude(status=Status.DRAFT).first()
    if topic is None:
        raise NotFound()
    elector = resident_elector(topic=topic, household_id=household_id, resident_id=resident_id)
    if elector is None:
        raise NotFound()
    return topic, elector


def may_cast(*, topic: Topic, resident: Any) -> bool:
    """Whether this resident may cast their elector's vote (an owners' vote needs a registered owner)."""
    from .choices import Eligibility

    if topic.eligibility != Eligibility.OWNER:
        return True
    from tongxin.residents.selectors import households_in_scope, owners_of

    return owners_of(households_in_scope().filter(pk=resident.household_id)).filter(pk=resident.pk).exists()


@dataclass(frozen=True)
class Receipt:
    """What the voter may see of their own vote: when, by whom of the household, and — for a public
    ballot only — what was chosen."""

    cast_at: Any
    changed_at: Any
    changes: int
    by_me: bool
    option_labels: tuple[str, ...] | None  # None: a secret ballot (nothing stored to show)


def receipt_get(*, topic: Topic, elector: Elector, resident_id: int) -> Receipt | None:
    participation = Participation.objects.filter(elector=elector).first()
    if participation is None:
        return None
    labels: tuple[str, ...] | None = None
    if not topic.secret:
        labels = tuple(ParticipationChoice.objects.filter(participation=participation)
                       .order_by("option__position", "option_id").values_list("option__label", flat=True))
    return Receipt(cast_at=participation.cast_at, changed_at=participation.changed_at, changes=participation.changes,
                   by_me=participation.resident_id == resident_id, option_labels=labels)


# --- the tally -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OptionRow:
    option_id: int
    label: str
    stance: str
    ballots: int
    area: Decimal
    share: str  # of the ballots cast (percent, for people)
    area_share: str


@dataclass(frozen=True)
class Results:
    topic: Topic
    electors: int
    electors_area: Decimal
    voted: int
    voted_area: Decimal
    turnout: str
    options: tuple[OptionRow, ...]
    verdict: Verdict | None  # property-management topics
    at: Any


def topic_results(*, topic: Topic) -> Results:
    """The tally from the counters (three queries, whatever the electorate's size)."""
    options = list(Option.objects.filter(topic=topic).order_by("position", "id"))
    agg = Participation.objects.filter(topic=topic).aggregate(area=Sum("elector__floor_area"))
    voted = Participation.objects.filter(topic=topic).count()
    voted_area = Decimal(agg["area"] or 0).quantize(Decimal("0.01"))
    rows = tuple(
        OptionRow(option_id=o.pk, label=o.label, stance=o.stance, ballots=o.ballots, area=o.area,
                  share=percent(ratio(o.ballots, voted)), area_share=percent(ratio(o.area, voted_area)))
        for o in options
    )
    verdict = None
    if topic.is_property:
        yes = next((o for o in options if o.stance == Stance.APPROVE), None)
        counts = Counts(total_owners=topic.electors_count, total_area=topic.electors_area, voted_owners=voted,
                        voted_area=voted_area, yes_owners=yes.ballots if yes else 0,
                        yes_area=yes.area if yes else Decimal("0"))
        verdict = art278_verdict(counts, major=topic.matter in MAJOR_MATTERS)
    return Results(topic=topic, electors=topic.electors_count, electors_area=topic.electors_area, voted=voted,
                   voted_area=voted_area, turnout=percent(ratio(voted, topic.electors_count)), options=rows,
                   verdict=verdict, at=timezone.now())


def turnout_fraction(results: Results) -> Fraction:
    return ratio(results.voted, results.electors)


def public_choices(*, topic: Topic) -> list[tuple[int, str]]:
    """(elector id, option label) of a public ballot, for staff (never for a secret one)."""
    if topic.secret:
        return []
    return list(ParticipationChoice.objects.filter(participation__topic=topic)
                .order_by("participation__elector_id", "option__position")
                .values_list("participation__elector_id", "option__label"))
