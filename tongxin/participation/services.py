"""Every write of consultations: create and edit a draft topic, open it (freezing the electorate), close
it, and cast (or change) a vote. One transaction each; errors name the field and say why in Chinese."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit_record
from tongxin.core.errors import (
    ApplicationError,
    Conflict,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    require_text,
)
from tongxin.regions.choices import AreaLevel
from tongxin.residents import selectors as residents

from . import selectors
from .choices import ChoiceMode, Eligibility, Event, Matter, Publication, ScopeKind, Stance, Status, TopicKind
from .models import Elector, Option, Participation, ParticipationChoice, Topic

logger = logging.getLogger(__name__)

MAX_OPTIONS = 20
MIN_OPTIONS = 2
MAX_WINDOW = dt.timedelta(days=180)
PROPERTY_OPTIONS = ((Stance.APPROVE, "同意"), (Stance.REJECT, "不同意"), (Stance.ABSTAIN, "弃权"))


@dataclass(frozen=True)
class TopicInput:
    """What a staff member types for a topic (the form and the API both build one)."""

    title: Any = ""
    body: Any = ""
    kind: Any = ""
    matter: Any = ""
    scope_kind: Any = ScopeKind.AREA
    area_id: Any = None
    building_id: Any = None
    choice_mode: Any = ChoiceMode.SINGLE
    max_choices: Any = 1
    opens_at: Any = None
    closes_at: Any = None
    eligibility: Any = Eligibility.HOUSEHOLD
    secret: Any = False
    publication: Any = Publication.ON_CLOSE
    allow_change: Any = False
    options: Any = ()


def _choice(value: Any, choices: Any, field: str, label: str) -> str:
    value = str(value or "").strip()
    if value not in choices.values:
        raise ValidationFailed(fields={field: _("请选择有效的%(label)s") % {"label": label}})
    return value


def _aware(value: Any, field: str, label: str) -> dt.datetime:
    if isinstance(value, str) and value.strip():
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationFailed(fields={field: _("%(label)s格式不正确") % {"label": label}}) from None
    if not isinstance(value, dt.datetime):
        raise ValidationFailed(fields={field: _("请填写%(label)s") % {"label": label}})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _int(value: Any, field: str, label: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={field: _("%(label)s必须是整数") % {"label": label}}) from None


def _scope(actor: Any, data: TopicInput) -> tuple[str, Any, Any]:
    """(scope kind, area, building) after the jurisdiction check: an area outside it is 'not found'."""
    from tongxin.regions.models import Area

    kind = _choice(data.scope_kind, ScopeKind, "scope_kind", _("范围类型"))
    if kind == ScopeKind.BUILDING:
        if data.building_id in (None, ""):
            raise ValidationFailed(fields={"building_id": _("请选择楼栋")})
        building = residents.buildings_in_scope().select_related("area", "grid").filter(
            pk=_int(data.building_id, "building_id", _("楼栋"))).first()
        area = (building.grid or building.area) if building is not None else None
        if building is None or area is None or not selectors.can_write_area(actor, area.path):
            raise ValidationFailed(fields={"building_id": _("楼栋不存在或不在您的辖区内")})
        return kind, area, building
    if data.area_id in (None, ""):
        raise ValidationFailed(fields={"area_id": _("请选择议题范围")})
    area = Area.objects.defer("boundary").filter(pk=_int(data.area_id, "area_id", _("范围"))).first()
    if area is None or not selectors.can_write_area(actor, area.path):
        raise ValidationFailed(fields={"area_id": _("区域不存在或不在您的辖区内")})
    if kind == ScopeKind.GRID and area.level != AreaLevel.GRID:
        raise ValidationFailed(fields={"area_id": _("范围类型为网格时，请选择一个网格")})
    return kind, area, None


def _options(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = raw.splitlines()
    labels = [str(x).strip() for x in (raw or ())]
    labels = [x for x in labels if x]
    if len(labels) < MIN_OPTIONS:
        raise ValidationFailed(fields={"options": _("至少需要 %(n)s 个选项") % {"n": MIN_OPTIONS}})
    if len(labels) > MAX_OPTIONS:
        raise ValidationFailed(fields={"options": _("最多 %(n)s 个选项（现有 %(m)s 个）") % {"n": MAX_OPTIONS, "m": len(labels)}})
    for label in labels:
        require_text(label, "options", label=_("选项"), max_chars=120)
        if "\x00" in label:
            raise ValidationFailed(fields={"options": _("选项包含无效的空字符")})
    if len(set(labels)) != len(labels):
        raise ValidationFailed(fields={"options": _("选项不能重复")})
    return labels


def _clean(actor: Any, data: TopicInput, *, now: dt.datetime) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The topic's fields and its (stance, label) options, or ValidationFailed naming the first fault."""
    title = require_text(data.title, "title", label=_("标题"), max_chars=120)
    body = require_text(data.body, "body", label=_("内容"), max_chars=5000)
    kind = _choice(data.kind, TopicKind, "kind", _("议题类型"))
    scope_kind, area, building = _scope(actor, data)
    opens_at = _aware(data.opens_at, "opens_at", _("开始时间"))
    closes_at = _aware(data.closes_at, "closes_at", _("截止时间"))
    if closes_at <= opens_at:
        raise ValidationFailed(fields={"closes_at": _("截止时间必须晚于开始时间")})
    if closes_at <= now:
        raise ValidationFailed(fields={"closes_at": _("截止时间必须晚于现在")})
    if closes_at - opens_at > MAX_WINDOW:
        raise ValidationFailed(fields={"closes_at": _("投票期不能超过 %(d)s 天") % {"d": MAX_WINDOW.days}})
    secret = bool(data.secret)
    publication = _choice(data.publication, Publication, "publication", _("结果公布方式"))
    allow_change = bool(data.allow_change)
    if secret and allow_change:
        raise ValidationFailed(fields={"allow_change": _("无记名投票不允许改票：系统不保存谁投了哪一项，无法撤回原来的选择")})
    if secret and publication == Publication.LIVE:
        raise ValidationFailed(fields={"publication": _("无记名投票只能在结束后公布结果：实时结果配合投票名单可以推断个人的选择")})
    if kind == TopicKind.PROPERTY:
        matter = _choice(data.matter, Matter, "matter", _("表决事项"))
        if str(data.eligibility or Eligibility.OWNER) != Eligibility.OWNER:
            raise ValidationFailed(fields={"eligibility": _("物业管理事项由业主按专有部分表决")})
        if str(data.choice_mode or ChoiceMode.SINGLE) != ChoiceMode.SINGLE:
            raise ValidationFailed(fields={"choice_mode": _("物业管理事项为单选（同意、不同意、弃权）")})
        eligibility, choice_mode, max_choices = str(Eligibility.OWNER), str(ChoiceMode.SINGLE), 1
        options = [(stance.value, label) for stance, label in PROPERTY_OPTIONS]
    else:
        if str(data.matter or ""):
            raise ValidationFailed(fields={"matter": _("只有物业管理事项才选择表决事项")})
        matter = ""
        eligibility = _choice(data.eligibility, Eligibility, "eligibility", _("投票资格"))
        if eligibility == Eligibility.OWNER:
            raise ValidationFailed(fields={"eligibility": _("业主表决只用于物业管理事项")})
        choice_mode = _choice(data.choice_mode, ChoiceMode, "choice_mode", _("选择方式"))
        labels = _options(data.options)
        options = [("", label) for label in labels]
        if choice_mode == ChoiceMode.SINGLE:
            max_choices = 1
        else:
            max_choices = _int(data.max_choices, "max_choices", _("最多可选"))
            if not 2 <= max_choices <= len(labels):
                raise ValidationFailed(fields={"max_choices": _("多选时最多可选项数应在 2 到 %(n)s 之间") % {"n": len(labels)}})
    fields = {
        "title": title, "body": body, "kind": kind, "matter": matter, "scope_kind": scope_kind, "area": area,
        "building": building, "area_path": area.path, "choice_mode": choice_mode, "max_choices": max_choices,
        "opens_at": opens_at, "closes_at": closes_at, "eligibility": eligibility, "secret": secret,
        "publication": publication, "allow_change": allow_change,
    }
    return fields, options


def _require_writer(actor: Any) -> None:
    if not selectors.can_write_somewhere(actor):
        raise PermissionDenied(_("只有网格员和管理员可以发起协商议题"))


def _writable(actor: Any, topic_id: Any) -> Topic:
    """The topic locked for a change: 404 outside the actor's reach, 403 for a reader-only role."""
    topic = selectors.topic_get(actor=actor, pk=topic_id)
    if not selectors.can_write_area(actor, topic.area_path):
        raise PermissionDenied(_("您只能查看此议题，不能修改"))
    return Topic.objects.select_for_update().get(pk=topic.pk)


@transaction.atomic
def topic_create(*, actor: Any, data: TopicInput) -> Topic:
    _require_writer(actor)
    fields, options = _clean(actor, data, now=timezone.now())
    topic = Topic.objects.create(created_by=actor, **fields)
    Option.objects.bulk_create([Option(topic=topic, position=i, stance=stance, label=label)
                                for i, (stance, label) in enumerate(options)])
    audit_record(actor=actor, event_type=Event.TOPIC_CREATED, object_type="participation.topic", object_id=topic.pk,
                 data={"title": topic.title, "kind": topic.kind, "area": topic.area_path})
    return topic


@transaction.atomic
def topic_update(*, actor: Any, topic_id: Any, data: TopicInput) -> Topic:
    topic = _writable(actor, topic_id)
    if topic.status != Status.DRAFT:
        raise IllegalTransition(_("议题发布后不能再修改"))
    fields, options = _clean(actor, data, now=timezone.now())
    for name, value in fields.items():
        setattr(topic, name, value)
    topic.save()
    Option.objects.filter(topic=topic).delete()  # a draft has no votes: its options are simply replaced
    Option.objects.bulk_create([Option(topic=topic, position=i, stance=stance, label=label)
                                for i, (stance, label) in enumerate(options)])
    audit_record(actor=actor, event_type=Event.TOPIC_UPDATED, object_type="participation.topic", object_id=topic.pk,
                 data={"title": topic.title})
    return topic


def _households(topic: Topic) -> Any:
    if topic.building_id:
        return residents.households_in_scope(building=topic.building_id)
    if topic.scope_kind == ScopeKind.GRID:
        return residents.households_in_scope(grid=topic.area_id)
    return residents.households_in_scope(area=topic.area)


def electorate(topic: Topic, *, on: dt.date) -> list[Elector]:
    """Who may vote, as of ``on``: every household of the scope (one vote each; for property topics each
    household is one 专有部分 with its floor area), or every verified adult resident."""
    households = _households(topic)
    if topic.eligibility == Eligibility.ADULT:
        people = residents.adult_residents_of(households, on=on).filter(verified_at__isnull=False)
        return [Elector(topic=topic, voter_key=f"r{pk}", household_id=hid, resident_id=pk)
                for pk, hid in people.order_by("id").values_list("id", "household_id")]
    rows = households.order_by("id").values_list("id", "floor_area")
    return [Elector(topic=topic, voter_key=f"h{pk}", household_id=pk, floor_area=area or Decimal("0"))
            for pk, area in rows]


@transaction.atomic
def topic_open(*, actor: Any, topic_id: Any) -> Topic:
    """Publish a draft: freeze who may vote (and, for property topics, the two Art. 278 denominators)."""
    topic = _writable(actor, topic_id)
    if topic.status != Status.DRAFT:
        raise IllegalTransition(_("只有草稿可以发布"))
    now = timezone.now()
    if topic.closes_at <= now:
        raise ValidationFailed(fields={"closes_at": _("截止时间已过，请先修改截止时间")})
    electors = electorate(topic, on=max(topic.opens_at, now).date())
    if not electors:
        raise ValidationFailed(fields={"scope": _("范围内没有符合投票资格的住户或居民")})
    if topic.is_property:
        missing = sum(1 for e in electors if e.floor_area <= 0)
        if missing:
            raise ValidationFailed(fields={"scope": _(
                "范围内有 %(n)s 户没有登记专有部分面积，无法按民法典第二百七十八条计算面积，请先补全") % {"n": missing}})
    Elector.objects.bulk_create(electors, batch_size=1000)
    topic.electors_count = len(electors)
    topic.electors_area = sum((e.floor_area for e in electors), Decimal("0"))
    topic.status, topic.opened_at = Status.OPEN, now
    topic.save(update_fields=["electors_count", "electors_area", "status", "opened_at"])
    audit_record(actor=actor, event_type=Event.TOPIC_OPENED, object_type="participation.topic", object_id=topic.pk,
                 data={"electors": topic.electors_count, "area": str(topic.electors_area)})
    return topic


@transaction.atomic
def topic_close(*, actor: Any, topic_id: Any) -> Topic:
    """End the vote now (or record the end of one whose time has run out)."""
    topic = _writable(actor, topic_id)
    if topic.status != Status.OPEN:
        raise IllegalTransition(_("只有已发布的议题可以结束"))
    now = timezone.now()
    topic.status, topic.closed_at = Status.CLOSED, now
    if topic.closes_at > now:
        topic.closes_at = max(now, topic.opens_at + dt.timedelta(seconds=1))
    topic.save(update_fields=["status", "closed_at", "closes_at"])
    audit_record(actor=actor, event_type=Event.TOPIC_CLOSED, object_type="participation.topic", object_id=topic.pk,
                 data={"voted": topic.participations.count(), "electors": topic.electors_count})
    return topic


# --- voting ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VoteResult:
    topic: Topic
    changed: bool
    option_labels: tuple[str, ...]  # what was just chosen (shown once; a secret ballot never stores it)
    points_awarded: bool


def _parse_options(topic: Topic, option_ids: Any) -> list[Option]:
    raw = option_ids if isinstance(option_ids, list | tuple) else [option_ids] if option_ids not in (None, "") else []
    if not raw:
        raise ValidationFailed(fields={"options": _("请至少选择一项")})
    try:
        ids = [int(x) for x in raw]
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"options": _("选项无效")}) from None
    if len(set(ids)) != len(ids):
        raise ValidationFailed(fields={"options": _("同一选项只能选一次")})
    options = list(Option.objects.filter(topic=topic, pk__in=ids).order_by("position", "id"))
    if len(options) != len(ids):
        raise ValidationFailed(fields={"options": _("选项不属于本议题")})
    if topic.choice_mode == ChoiceMode.SINGLE and len(ids) != 1:
        raise ValidationFailed(fields={"options": _("本议题为单选，只能选择一项")})
    if len(ids) > topic.max_choices:
        raise ValidationFailed(fields={"options": _("本议题最多可选 %(n)s 项，您选了 %(m)s 项") % {
            "n": topic.max_choices, "m": len(ids)}})
    return options


def _count(deltas: dict[int, int], weight: Decimal) -> None:
    """Apply the counter changes, one option row at a time in ascending id: two multiple-choice votes
    then lock their rows in the same order and cannot deadlock. Called last in the ballot's transaction,
    so a popular option's row stays locked only for the commit."""
    for pk in sorted(deltas):
        sign = deltas[pk]
        if sign:
            Option.objects.filter(pk=pk).update(ballots=F("ballots") + sign, area=F("area") + sign * weight)


def _topic_shared(topic_id: Any) -> Topic | None:
    """The topic row with a shared lock (PostgreSQL FOR SHARE): votes of one topic go on in parallel,
    while a close (FOR UPDATE) waits for those in flight and every later vote then sees it closed.
    SQLite serialises writers anyway."""
    try:
        pk = int(topic_id)
    except (TypeError, ValueError):
        return None
    if connection.vendor == "postgresql":
        table = Topic._meta.db_table
        found = list(Topic.objects.raw(f'SELECT * FROM "{table}" WHERE id = %s FOR SHARE', [pk]))  # noqa: S608 - table name from the model
        topic = found[0] if found else None
    else:
        topic = Topic.objects.filter(pk=pk).first()
    if topic is None or topic.status == Status.DRAFT:
        return None
    return topic


def _award_points(topic: Topic, resident: Any) -> bool:
    """Points for taking part, when the points room offers them (idempotent by cause key)."""
    try:
        from tongxin.points import services as points
    except ImportError:
        return False
    earn = getattr(points, "points_earn", None)
    if earn is None:
        return False
    try:
        entry = earn(resident=resident, rule_code="vote_cast", cause_key=f"vote:{topic.pk}:{resident.pk}",
                     cause_label=_("参与协商：%(t)s") % {"t": topic.title[:40]})
    except ApplicationError:
        # No "vote_cast" rule configured (points_earn refuses an unknown rule in its own savepoint):
        # the vote stands without points.
        logger.warning("points: no vote_cast rule; vote on topic %s earned nothing", topic.pk)
        return False
    return entry is not None


def _voter(topic: Topic, resident: Any) -> Elector:
    if resident is None or not getattr(resident, "active", False):
        raise NotFound()
    keys = selectors.voter_keys(household_id=resident.household_id, resident_id=resident.pk)
    elector = Elector.objects.filter(topic=topic, voter_key__in=keys).first()
    if elector is None:
        raise NotFound()
    if topic.eligibility == Eligibility.OWNER:
        owners = residents.owners_of(residents.households_in_scope().filter(pk=resident.household_id))
        if not owners.filter(pk=resident.pk).exists():
            raise PermissionDenied(_("物业管理事项只能由登记为业主的居民表决"))
    return elector


@transaction.atomic
def topic_vote_cast(*, topic_id: Any, resident: Any, option_ids: Any) -> VoteResult:
    """Cast (or, where the topic allows, change) the resident's vote. Exactly one participation per
    elector: the unique ``elector`` makes the database refuse a second one, whatever the timing (two
    first votes of one household at once: one commits, the other gets IntegrityError → Conflict, or
    becomes a change where changes are allowed). A change locks the voter's participation row, so two
    changes of one voter queue. A refused change raises Conflict (code ``vote_already_cast``); the caller
    records it with ``vote_refusal_record``."""
    topic = _topic_shared(topic_id)
    if topic is None:
        raise NotFound()
    elector = _voter(topic, resident)
    now = timezone.now()
    if not topic.accepting(now):
        if now < topic.opens_at:
            opens = timezone.localtime(topic.opens_at).strftime("%Y-%m-%d %H:%M")
            raise Conflict(_("投票尚未开始（%(t)s 开始）") % {"t": opens}, code="vote_not_open")
        raise Conflict(_("投票已经结束"), code="vote_closed")
    options = _parse_options(topic, option_ids)
    labels = tuple(o.label for o in options)
    existing = Participation.objects.select_for_update().filter(elector=elector).first()
    if existing is None:
        try:
            with transaction.atomic():
                participation = Participation.objects.create(topic=topic, elector=elector, resident_id=resident.pk,
                                                             cast_at=now)
        except IntegrityError:
            if not topic.allow_change:
                raise Conflict(_("您（或您家）已经投过票，本议题不允许改票"), code="vote_already_cast") from None
            existing = Participation.objects.select_for_update().get(elector=elector)  # committed by the other
    if existing is not None:
        if not topic.allow_change:
            raise Conflict(_("您（或您家）已经投过票，本议题不允许改票"), code="vote_already_cast")
        return _change(topic, elector, existing, options, resident, now)
    if not topic.secret:
        ParticipationChoice.objects.bulk_create([ParticipationChoice(participation=participation, option=o)
                                                 for o in options])
    data: dict[str, Any] = {"elector": elector.voter_key, "resident": resident.pk}
    if not topic.secret:
        data["options"] = list(labels)
    audit_record(actor=None, event_type=Event.VOTE_CAST, object_type="participation.topic", object_id=topic.pk, data=data)
    awarded = _award_points(topic, resident)
    _count({o.pk: +1 for o in options}, elector.floor_area)
    return VoteResult(topic=topic, changed=False, option_labels=labels, points_awarded=awarded)


def _change(topic: Topic, elector: Elector, existing: Participation, options: list[Option], resident: Any,
            now: dt.datetime) -> VoteResult:
    """A public ballot's change (a secret ballot allows none): swap the choices, move the counters."""
    old = list(Option.objects.filter(pk__in=ParticipationChoice.objects.filter(participation=existing)
                                     .values("option_id")).order_by("position", "id"))
    ParticipationChoice.objects.filter(participation=existing).delete()
    ParticipationChoice.objects.bulk_create([ParticipationChoice(participation=existing, option=o) for o in options])
    Participation.objects.filter(pk=existing.pk).update(changed_at=now, changes=F("changes") + 1,
                                                        resident_id=resident.pk)
    labels = tuple(o.label for o in options)
    audit_record(actor=None, event_type=Event.VOTE_CHANGED, object_type="participation.topic", object_id=topic.pk,
                 data={"elector": elector.voter_key, "resident": resident.pk, "from": [o.label for o in old],
                       "to": list(labels)})
    deltas: dict[int, int] = {}
    for o in old:
        deltas[o.pk] = deltas.get(o.pk, 0) - 1
    for o in options:
        deltas[o.pk] = deltas.get(o.pk, 0) + 1
    _count(deltas, elector.floor_area)
    return VoteResult(topic=topic, changed=True, option_labels=labels, points_awarded=False)


@transaction.atomic
def vote_refusal_record(*, topic_id: Any, resident: Any, reason: str) -> None:
    """Audit a refused change of a vote (its own transaction: the refused one was rolled back)."""
    audit_record(actor=None, event_type=Event.VOTE_CHANGE_REFUSED, object_type="participation.topic",
                 object_id=topic_id, data={"resident": getattr(resident, "pk", None), "reason": reason[:200]})


@transaction.atomic
def tally_export_record(*, actor: Any, topic: Topic) -> None:
    audit_record(actor=actor, event_type=Event.TALLY_EXPORTED, object_type="participation.topic", object_id=topic.pk,
                 data={"secret": topic.secret})


def is_not_found(error: Exception) -> bool:
    return isinstance(error, NotFound)


@transaction.atomic
def topics_close_due(*, now: dt.datetime | None = None, dry_run: bool = False) -> list[int]:
    """Mark the open topics whose time has run out as closed (the periodic job). Idempotent: a closed
    topic is not touched again; ``skip_locked`` leaves a topic being voted on to the next run; a dry run
    changes nothing."""
    now = now or timezone.now()
    due = Topic.objects.select_for_update(skip_locked=True).filter(status=Status.OPEN, closes_at__lte=now)
    ids = list(due.order_by("id").values_list("id", flat=True))
    if dry_run or not ids:
        return ids
    for topic in Topic.objects.filter(pk__in=ids):
        topic.status, topic.closed_at = Status.CLOSED, topic.closes_at
        topic.save(update_fields=["status", "closed_at"])
        audit_record(actor=None, event_type=Event.TOPIC_CLOSED, object_type="participation.topic", object_id=topic.pk,
                     data={"voted": topic.participations.count(), "electors": topic.electors_count, "by": "schedule"})
    return ids
