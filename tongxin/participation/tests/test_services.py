"""The services of consultations: every validation path, the electorate, voting, changes, secrecy,
jurisdiction and the audit trail (SQLite; the concurrency test is in test_concurrency_pg.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tongxin.core.errors import Conflict, IllegalTransition, NotFound, PermissionDenied, ValidationFailed
from tongxin.core.models import AuditEvent
from tongxin.participation import selectors, services
from tongxin.participation.choices import Event, Status
from tongxin.participation.models import Elector, Option, Participation, ParticipationChoice, Topic

from .conftest import open_topic, option_id, property_input, topic_input

pytestmark = pytest.mark.django_db


def _fields(excinfo) -> dict:
    return excinfo.value.fields


# --- validation --------------------------------------------------------------------------------------

INVALID = [
    ({"title": ""}, "title", "标题不能为空"),
    ({"title": "x" * 121}, "title", "不能超过 120"),
    ({"body": "  "}, "body", "内容不能为空"),
    ({"kind": "party"}, "kind", "议题类型"),
    ({"scope_kind": "planet"}, "scope_kind", "范围类型"),
    ({"area_id": None}, "area_id", "请选择议题范围"),
    ({"area_id": "abc"}, "area_id", "必须是整数"),
    ({"area_id": 999999}, "area_id", "不在您的辖区内"),
    ({"scope_kind": "building", "building_id": None}, "building_id", "请选择楼栋"),
    ({"scope_kind": "building", "building_id": 999999}, "building_id", "不在您的辖区内"),
    ({"opens_at": None}, "opens_at", "请填写开始时间"),
    ({"opens_at": "not a date"}, "opens_at", "格式不正确"),
    ({"closes_at": "2000-01-01T00:00"}, "closes_at", "晚于"),
    ({"choice_mode": "ranked"}, "choice_mode", "选择方式"),
    ({"options": ["唯一"]}, "options", "至少需要 2 个选项"),
    ({"options": [f"选项{i}" for i in range(21)]}, "options", "最多 20 个选项"),
    ({"options": ["相同", "相同"]}, "options", "不能重复"),
    ({"options": ["好", "y" * 121]}, "options", "不能超过 120"),
    ({"choice_mode": "multiple", "max_choices": 1}, "max_choices", "2 到 3"),
    ({"choice_mode": "multiple", "max_choices": 4}, "max_choices", "2 到 3"),
    ({"choice_mode": "multiple", "max_choices": "x"}, "max_choices", "必须是整数"),
    ({"eligibility": "everyone"}, "eligibility", "投票资格"),
    ({"eligibility": "owner"}, "eligibility", "只用于物业管理事项"),
    ({"matter": "item6"}, "matter", "只有物业管理事项"),
    ({"publication": "never"}, "publication", "结果公布方式"),
    ({"secret": True, "allow_change": True}, "allow_change", "无记名投票不允许改票"),
    ({"secret": True, "publication": "live"}, "publication", "只能在结束后公布"),
]


@pytest.mark.parametrize(("overrides", "field", "text"), INVALID)
def test_topic_create_rejects_invalid_input(world, overrides, field, text):
    with pytest.raises(ValidationFailed) as excinfo:
        services.topic_create(actor=world.user("grid_worker"), data=topic_input(world, **overrides))
    assert field in _fields(excinfo), _fields(excinfo)
    assert text in _fields(excinfo)[field]
    assert not Topic.objects.exists()


def test_window_limits(world):
    now = timezone.now()
    with pytest.raises(ValidationFailed) as excinfo:
        services.topic_create(actor=world.user("grid_worker"), data=topic_input(
            world, opens_at=now + dt.timedelta(days=2), closes_at=now + dt.timedelta(days=1)))
    assert "晚于开始时间" in _fields(excinfo)["closes_at"]
    with pytest.raises(ValidationFailed) as excinfo:
        services.topic_create(actor=world.user("grid_worker"), data=topic_input(
            world, opens_at=now, closes_at=now + dt.timedelta(days=181)))
    assert "180 天" in _fields(excinfo)["closes_at"]


def test_grid_scope_needs_a_grid(world):
    with pytest.raises(ValidationFailed) as excinfo:
        services.topic_create(actor=world.user("admin"), data=topic_input(world, area_id=world.community_a.pk))
    assert "请选择一个网格" in _fields(excinfo)["area_id"]


def test_property_rules(world, estate):
    with pytest.raises(ValidationFailed) as excinfo:
        services.topic_create(actor=world.user("grid_worker"), data=property_input(estate, matter=""))
    assert "表决事项" in _fields(excinfo)["matter"]
    with pytest.raises(ValidationFailed) as excinfo:
        services.topic_create(actor=world.user("grid_worker"), data=property_input(estate, eligibility="household"))
    assert "业主按专有部分" in _fields(excinfo)["eligibility"]
    with pytest.raises(ValidationFailed) as excinfo:
        services.topic_create(actor=world.user("grid_worker"), data=property_input(estate, choice_mode="multiple"))
    assert "单选" in _fields(excinfo)["choice_mode"]
    topic = services.topic_create(actor=world.user("grid_worker"), data=property_input(estate))
    assert [(o.stance, o.label) for o in topic.options.all()] == [("approve", "同意"), ("reject", "不同意"),
                                                                  ("abstain", "弃权")]
    assert topic.max_choices == 1 and topic.eligibility == "owner"


def test_the_database_refuses_what_the_services_refuse(world):
    topic = services.topic_create(actor=world.user("grid_worker"), data=topic_input(world))
    for values in ({"secret": True, "allow_change": True}, {"secret": True, "publication": "live"},
                   {"closes_at": topic.opens_at}, {"max_choices": 0}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Topic.objects.filter(pk=topic.pk).update(**values)


# --- jurisdiction --------------------------------------------------------------------------------------

def test_who_may_create(world):
    for name in ("leader", "operator", "handler", "nobody"):
        with pytest.raises(PermissionDenied):
            services.topic_create(actor=world.user(name), data=topic_input(world))
    # The grid worker of grid A cannot scope a topic to district B.
    with pytest.raises(ValidationFailed) as excinfo:
        services.topic_create(actor=world.user("grid_worker"), data=topic_input(
            world, scope_kind="area", area_id=world.district_b.pk))
    assert "不在您的辖区内" in _fields(excinfo)["area_id"]
    assert services.topic_create(actor=world.user("admin"), data=topic_input(world, scope_kind="area",
                                                                             area_id=world.district_b.pk))


def test_reading_and_writing_by_role(world):
    topic = services.topic_create(actor=world.user("grid_worker"), data=topic_input(world))
    assert selectors.topic_get(actor=world.user("leader"), pk=topic.pk) == topic
    with pytest.raises(PermissionDenied):
        services.topic_open(actor=world.user("leader"), topic_id=topic.pk)  # a leader reads, does not run it
    for name in ("leader_b", "dispatcher", "handler", "nobody"):
        with pytest.raises(NotFound):
            selectors.topic_get(actor=world.user(name), pk=topic.pk)
        with pytest.raises((NotFound, PermissionDenied)):
            services.topic_open(actor=world.user(name), topic_id=topic.pk)
    assert selectors.topic_list(actor=world.user("leader_b")) == []
    with pytest.raises(NotFound):
        selectors.topic_get(actor=world.user("admin"), pk="x")


# --- life cycle ----------------------------------------------------------------------------------------

def test_edit_only_as_a_draft(world, estate):
    gw = world.user("grid_worker")
    topic = services.topic_create(actor=gw, data=topic_input(world))
    topic = services.topic_update(actor=gw, topic_id=topic.pk, data=topic_input(world, title="新标题", options=["甲", "乙"]))
    assert topic.title == "新标题" and list(topic.options.values_list("label", flat=True)) == ["甲", "乙"]
    services.topic_open(actor=gw, topic_id=topic.pk)
    with pytest.raises(IllegalTransition):
        services.topic_update(actor=gw, topic_id=topic.pk, data=topic_input(world))
    with pytest.raises(IllegalTransition):
        services.topic_open(actor=gw, topic_id=topic.pk)
    services.topic_close(actor=gw, topic_id=topic.pk)
    with pytest.raises(IllegalTransition):
        services.topic_close(actor=gw, topic_id=topic.pk)
    events = list(AuditEvent.objects.filter(object_type="participation.topic", object_id=str(topic.pk))
                  .order_by("id").values_list("event_type", flat=True))
    assert events == [Event.TOPIC_CREATED, Event.TOPIC_UPDATED, Event.TOPIC_OPENED, Event.TOPIC_CLOSED]


def test_close_of_a_draft_is_illegal(world):
    topic = services.topic_create(actor=world.user("grid_worker"), data=topic_input(world))
    with pytest.raises(IllegalTransition):
        services.topic_close(actor=world.user("grid_worker"), topic_id=topic.pk)


def test_electorates(world, estate):
    household_topic = open_topic(world, topic_input(world))  # grid A: 5 households
    assert household_topic.electors_count == 5
    building_topic = open_topic(world, topic_input(world, scope_kind="building", area_id=None,
                                                   building_id=estate.building.pk))
    assert building_topic.electors_count == 4
    adult_topic = open_topic(world, topic_input(world, eligibility="adult"))
    keys = set(Elector.objects.filter(topic=adult_topic).values_list("resident_id", flat=True))
    # four owners + the tenant + the other building's owner; not the child.
    assert keys == {r.pk for r in [*estate.owners, estate.tenant, estate.other_owner]}
    prop = open_topic(world, property_input(estate))
    assert (prop.electors_count, prop.electors_area) == (4, Decimal("350.50"))


def test_adult_needs_verification(world, estate):
    from tongxin.residents.models import Resident

    Resident.objects.filter(pk=estate.tenant.pk).update(verified_at=None)
    topic = open_topic(world, topic_input(world, eligibility="adult"))
    assert not Elector.objects.filter(topic=topic, resident_id=estate.tenant.pk).exists()


def test_open_refuses_an_empty_scope_and_missing_areas(world, estate):
    gw = world.user("admin")
    empty = services.topic_create(actor=gw, data=topic_input(world, scope_kind="area", area_id=world.district_b.pk))
    with pytest.raises(ValidationFailed) as excinfo:
        services.topic_open(actor=gw, topic_id=empty.pk)
    assert "没有符合投票资格" in _fields(excinfo)["scope"]
    from tongxin.residents.models import Household

    Household.objects.filter(pk=estate.households[2].pk).update(floor_area=None)
    prop = services.topic_create(actor=gw, data=property_input(estate))
    with pytest.raises(ValidationFailed) as excinfo:
        services.topic_open(actor=gw, topic_id=prop.pk)
    assert "有 1 户没有登记专有部分面积" in _fields(excinfo)["scope"]
    assert Topic.objects.get(pk=prop.pk).status == Status.DRAFT and not Elector.objects.filter(topic=prop).exists()


# --- voting --------------------------------------------------------------------------------------------

def test_one_vote_per_household(world, estate):
    topic = open_topic(world, topic_input(world))
    first = option_id(topic, "方案一：地面划线")
    result = services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[0], option_ids=[first])
    assert result.option_labels == ("方案一：地面划线",) and not result.changed
    with pytest.raises(Conflict) as excinfo:  # the tenant of the same household
        services.topic_vote_cast(topic_id=topic.pk, resident=estate.tenant, option_ids=[first])
    assert excinfo.value.code == "vote_already_cast"
    assert Participation.objects.filter(topic=topic).count() == 1
    assert Option.objects.get(pk=first).ballots == 1


def test_option_validation(world, estate):
    topic = open_topic(world, topic_input(world, choice_mode="multiple", max_choices=2))
    ids = list(topic.options.values_list("id", flat=True))
    other = open_topic(world, topic_input(world, title="另一个"))
    cases = [
        ([], "请至少选择一项"), (None, "请至少选择一项"), (["x"], "选项无效"), ([ids[0], ids[0]], "只能选一次"),
        ([other.options.first().pk], "不属于本议题"), (ids, "最多可选 2 项，您选了 3 项"),
    ]
    for option_ids, text in cases:
        with pytest.raises(ValidationFailed) as excinfo:
            services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[0], option_ids=option_ids)
        assert text in _fields(excinfo)["options"], (option_ids, _fields(excinfo))
    single = open_topic(world, topic_input(world, title="单选"))
    with pytest.raises(ValidationFailed) as excinfo:
        services.topic_vote_cast(topic_id=single.pk, resident=estate.owners[0],
                                 option_ids=list(single.options.values_list("id", flat=True))[:2])
    assert "只能选择一项" in _fields(excinfo)["options"]
    result = services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[0], option_ids=ids[:2])
    assert len(result.option_labels) == 2
    assert not Participation.objects.filter(topic=single).exists()


def test_window(world, estate):
    now = timezone.now()
    later = open_topic(world, topic_input(world, opens_at=now + dt.timedelta(days=1), closes_at=now + dt.timedelta(days=2)))
    with pytest.raises(Conflict) as excinfo:
        services.topic_vote_cast(topic_id=later.pk, resident=estate.owners[0], option_ids=[later.options.first().pk])
    assert excinfo.value.code == "vote_not_open"
    topic = open_topic(world, topic_input(world))
    services.topic_close(actor=world.user("grid_worker"), topic_id=topic.pk)
    with pytest.raises(Conflict) as excinfo:
        services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[0], option_ids=[topic.options.first().pk])
    assert excinfo.value.code == "vote_closed"
    draft = services.topic_create(actor=world.user("grid_worker"), data=topic_input(world))
    with pytest.raises(NotFound):
        services.topic_vote_cast(topic_id=draft.pk, resident=estate.owners[0], option_ids=[draft.options.first().pk])


def test_outsiders_and_non_owners(world, estate):
    topic = open_topic(world, topic_input(world, scope_kind="building", area_id=None, building_id=estate.building.pk))
    with pytest.raises(NotFound):  # another building
        services.topic_vote_cast(topic_id=topic.pk, resident=estate.other_owner, option_ids=[topic.options.first().pk])
    prop = open_topic(world, property_input(estate))
    with pytest.raises(PermissionDenied):
        services.topic_vote_cast(topic_id=prop.pk, resident=estate.tenant, option_ids=[option_id(prop, "approve")])
    adult = open_topic(world, topic_input(world, eligibility="adult", title="成年人"))
    with pytest.raises(NotFound):
        services.topic_vote_cast(topic_id=adult.pk, resident=estate.child, option_ids=[adult.options.first().pk])
    # Each adult votes for themselves: the owner and the tenant of one household both vote.
    services.topic_vote_cast(topic_id=adult.pk, resident=estate.owners[0], option_ids=[adult.options.first().pk])
    services.topic_vote_cast(topic_id=adult.pk, resident=estate.tenant, option_ids=[adult.options.first().pk])
    assert Participation.objects.filter(topic=adult).count() == 2


def test_change_allowed_is_audited_and_recounted(world, estate):
    topic = open_topic(world, topic_input(world, allow_change=True))
    a, b = option_id(topic, "方案一：地面划线"), option_id(topic, "方案二：立体车库")
    services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[0], option_ids=[a])
    result = services.topic_vote_cast(topic_id=topic.pk, resident=estate.tenant, option_ids=[b])
    assert result.changed
    assert (Option.objects.get(pk=a).ballots, Option.objects.get(pk=b).ballots) == (0, 1)
    participation = Participation.objects.get(topic=topic)
    assert participation.changes == 1 and participation.resident_id == estate.tenant.pk
    assert list(ParticipationChoice.objects.filter(participation=participation).values_list("option_id", flat=True)) == [b]
    event = AuditEvent.objects.get(event_type=Event.VOTE_CHANGED)
    assert event.data["from"] == ["方案一：地面划线"] and event.data["to"] == ["方案二：立体车库"]


def test_refused_change_is_audited_by_the_caller(world, estate):
    topic = open_topic(world, topic_input(world))
    services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[0], option_ids=[topic.options.first().pk])
    with pytest.raises(Conflict) as excinfo:
        services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[0], option_ids=[topic.options.last().pk])
    services.vote_refusal_record(topic_id=topic.pk, resident=estate.owners[0], reason=excinfo.value.message)
    assert AuditEvent.objects.filter(event_type=Event.VOTE_CHANGE_REFUSED, object_id=str(topic.pk)).count() == 1
    assert topic.options.first().ballots == 1 and topic.options.last().ballots == 0


def test_secret_ballot_stores_no_choice(world, estate):
    topic = open_topic(world, topic_input(world, secret=True))
    a = option_id(topic, "维持现状")
    result = services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[1], option_ids=[a])
    assert result.option_labels == ("维持现状",)  # shown once, to the voter
    assert not ParticipationChoice.objects.exists()
    assert Option.objects.get(pk=a).ballots == 1
    event = AuditEvent.objects.get(event_type=Event.VOTE_CAST)
    assert "options" not in event.data and "维持现状" not in str(event.data)
    receipt = selectors.receipt_get(topic=topic, elector=Participation.objects.get().elector,
                                    resident_id=estate.owners[1].pk)
    assert receipt.option_labels is None and receipt.by_me
    assert selectors.public_choices(topic=topic) == []


def test_public_receipt_and_choices(world, estate):
    topic = open_topic(world, topic_input(world))
    a = option_id(topic, "维持现状")
    services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[1], option_ids=[a])
    elector = Participation.objects.get().elector
    receipt = selectors.receipt_get(topic=topic, elector=elector, resident_id=estate.child.pk)
    assert receipt.option_labels == ("维持现状",) and not receipt.by_me
    assert selectors.public_choices(topic=topic) == [(elector.pk, "维持现状")]
    assert AuditEvent.objects.get(event_type=Event.VOTE_CAST).data["options"] == ["维持现状"]


def test_points_are_offered_when_the_points_room_has_them(world, estate, monkeypatch):
    calls = []
    import tongxin.points.services as points  # noqa: F401 - the module must exist for the patch

    monkeypatch.setattr("tongxin.points.services.points_earn",
                        lambda **kw: calls.append(kw) or object(), raising=False)
    topic = open_topic(world, topic_input(world))
    result = services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[0], option_ids=[topic.options.first().pk])
    assert result.points_awarded
    assert calls == [{"resident": estate.owners[0], "rule_code": "vote_cast",
                      "cause_key": f"vote:{topic.pk}:{estate.owners[0].pk}", "cause_label": "参与协商：小区停车位划线方案"}]


def test_a_duplicate_participation_is_refused_by_the_database(world, estate):
    topic = open_topic(world, topic_input(world))
    elector = Elector.objects.filter(topic=topic).first()
    Participation.objects.create(topic=topic, elector=elector, resident_id=estate.owners[0].pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        Participation.objects.create(topic=topic, elector=elector, resident_id=estate.owners[0].pk)


def test_resident_topics(world, estate):
    topic = open_topic(world, topic_input(world, scope_kind="building", area_id=None, building_id=estate.building.pk))
    services.topic_create(actor=world.user("grid_worker"), data=topic_input(world, title="草稿"))
    mine = selectors.resident_topics(household_id=estate.owners[0].household_id, resident_id=estate.owners[0].pk)
    assert mine == [topic]
    assert selectors.resident_topics(household_id=estate.other_household.pk, resident_id=estate.other_owner.pk) == []
    with pytest.raises(NotFound):
        selectors.resident_topic_get(pk=topic.pk, household_id=estate.other_household.pk, resident_id=estate.other_owner.pk)


def test_close_sweep(world, estate):
    topic = open_topic(world, topic_input(world))
    later = topic.closes_at + dt.timedelta(seconds=1)
    assert services.topics_close_due(now=later, dry_run=True) == [topic.pk]
    assert Topic.objects.get(pk=topic.pk).status == Status.OPEN
    assert services.topics_close_due(now=topic.closes_at - dt.timedelta(seconds=1)) == []
    assert services.topics_close_due(now=later) == [topic.pk]
    closed = Topic.objects.get(pk=topic.pk)
    assert closed.status == Status.CLOSED and closed.closed_at == closed.closes_at
    assert services.topics_close_due(now=later) == []  # twice does nothing twice
    assert AuditEvent.objects.filter(event_type=Event.TOPIC_CLOSED, object_id=str(topic.pk)).count() == 1


def test_list_queries_are_bounded(world, estate, django_assert_max_num_queries):
    for i in range(5):
        open_topic(world, topic_input(world, title=f"议题{i}"))
    with django_assert_max_num_queries(4):
        topics = selectors.topic_list(actor=world.user("leader"))
        assert [t.area.name for t in topics]
    with django_assert_max_num_queries(2):
        assert len(selectors.resident_topics(household_id=estate.owners[0].household_id,
                                             resident_id=estate.owners[0].pk)) == 5
