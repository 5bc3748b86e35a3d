"""The demo's 码上协商: four topics around the well-known household (its building and its grid), made
and voted through the services — an open Art. 278 property vote the visitor can still cast, an open
multiple-choice livelihood topic, and two closed ones with their results (one secret ballot, one major
matter with its verdict). Deterministic and idempotent: a second run adds nothing."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from tongxin.accounts.models import User
from tongxin.participation.models import Topic
from tongxin.participation.services import TopicInput, topic_close, topic_create, topic_open, topic_vote_cast
from tongxin.residents.models import Resident
from tongxin.residents.selectors import households_in_scope, owners_of

from .residents import DEMO_PHONE


def _voters(households: Any, *, owners: bool) -> list[Resident]:
    """One voter per household (its owner, or its first resident), in a fixed order."""
    if owners:
        people = owners_of(households).order_by("household_id", "id")
    else:
        people = Resident.objects.filter(household__in=households, active=True).order_by("household_id", "id")
    seen: dict[int, Resident] = {}
    for person in people:
        seen.setdefault(person.household_id, person)
    return list(seen.values())


def _vote(topic: Topic, voters: list[Resident], rng: random.Random, share: float, weights: list[int],
          skip: int | None = None) -> int:
    options = list(topic.options.order_by("position"))
    cast = 0
    for person in voters:
        if person.household_id == skip or rng.random() > share:
            continue
        picks = rng.choices(options, weights=weights[:len(options)], k=1)
        if topic.max_choices > 1 and rng.random() < 0.5:
            picks = rng.sample(options, k=topic.max_choices)
        topic_vote_cast(topic_id=topic.pk, resident=person, option_ids=[o.pk for o in picks])
        cast += 1
    return cast


def seed_participation(staff: Any, log: Callable[[str], Any] | None = None) -> int:
    say = log or (lambda _message: None)
    if Topic.objects.exists():
        say("码上协商：议题已存在，跳过")
        return 0
    demo = Resident.objects.filter(phone=DEMO_PHONE).select_related("household__grid").order_by("id").first()
    if demo is None or demo.household.building_ref_id is None or demo.household.grid is None:
        say("码上协商：没有演示住户，跳过")
        return 0
    household = demo.household
    actor = staff.grid_workers.get(household.grid_id) or User.objects.filter(is_superuser=True).order_by("id").first()
    if actor is None:
        say("码上协商：没有可发起议题的网格员，跳过")
        return 0
    rng = random.Random(20261201)
    now = timezone.now()
    building = households_in_scope(building=household.building_ref_id)
    grid = households_in_scope(grid=household.grid_id)
    base = {"opens_at": now - timedelta(days=3), "closes_at": now + timedelta(days=7)}

    def make(**values: Any) -> Topic:
        topic = topic_create(actor=actor, data=TopicInput(**{**base, **values}))
        return topic_open(actor=actor, topic_id=topic.pk)

    renew = make(title="续聘物业服务企业（2027—2029年）", kind="property", matter="item4", scope_kind="building",
                 building_id=household.building_ref_id, eligibility="owner", body=(
                     "现物业服务合同将于年底到期。业主委员会提议续聘现物业服务企业三年，物业费标准不变"
                     "（每月每平方米1.20元）。请各位业主表决。"))
    n1 = _vote(renew, _voters(building, owners=True), rng, 0.55, [6, 2, 1], skip=household.pk)
    gym = make(title="小区健身器材选址", kind="livelihood", scope_kind="grid", area_id=household.grid_id,
               choice_mode="multiple", max_choices=2, publication="live", allow_change=True,
               options=["东门广场", "3号楼北侧绿地", "幼儿园旁空地", "暂不增设"],
               body="社区拟用民生微实事资金新增一组健身器材，每户最多选两处。")
    n2 = _vote(gym, _voters(grid, owners=False), rng, 0.4, [5, 3, 2, 1], skip=household.pk)
    sorting = make(title="垃圾分类投放点调整", kind="governance", scope_kind="grid", area_id=household.grid_id,
                   secret=True, options=["同意调整到南门", "维持现位置"],
                   body="为减少异味扰民，拟将2号楼旁的投放点调整到南门停车场入口。本次为无记名投票。")
    n3 = _vote(sorting, _voters(grid, owners=False), rng, 0.7, [3, 2])
    topic_close(actor=actor, topic_id=sorting.pk)
    fund = make(title="筹集电梯维修资金", kind="property", matter="item6", scope_kind="building",
                building_id=household.building_ref_id, eligibility="owner",
                body="电梯运行已满十五年，拟按每平方米30元一次性筹集维修资金，用于更换曳引机和控制柜。")
    n4 = _vote(fund, _voters(building, owners=True), rng, 0.8, [3, 1, 1])
    topic_close(actor=actor, topic_id=fund.pk)
    say(f"码上协商：4 个议题，{n1 + n2 + n3 + n4} 张选票（演示住户尚未对“{renew.title}”投票）")
    return 4
