"""The demo's points: the built-in rules and tiers, a clerk at the city's service hall, mall items and a
volunteering activity in the demo household's community, and some activity for the demo resident
(confirmed reports, votes, a commendation waiting for the committee, a deduction under appeal).

Idempotent: skipped once the demo has a mall item. Every movement goes through the points services,
so the ledger verifies (``tongxin points verify``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from tongxin.accounts.choices import Role
from tongxin.accounts.models import User
from tongxin.accounts.services import role_grant
from tongxin.points import services
from tongxin.points.models import Item, Rule
from tongxin.residents.models import Resident

from .organisation import DEMO_PASSWORD
from .residents import DEMO_PHONE

CLERK_USERNAME = "clerk"


def _centre(area: Any) -> tuple[float, float]:
    """(lat, lng) of an area's boundary centroid, or a point in 康巴什 when it has none."""
    if area.boundary:
        from shapely.geometry import shape

        point = shape(area.boundary).centroid
        return point.y, point.x
    return 39.608, 109.781


def seed_points(staff: Any, log: Callable[[str], Any] | None = None) -> int:
    say = log or (lambda _message: None)
    services.points_defaults_ensure()
    if Item.objects.exists():
        say("积分：商城已有商品，跳过")
        return 0
    demo = (Resident.objects.filter(phone=DEMO_PHONE).select_related("household__area", "household__grid")
            .order_by("id").first())
    if demo is None:
        say("积分：没有演示居民，跳过")
        return 0
    household = demo.household
    community = household.area
    city = community
    while city.parent is not None:  # a root's parent is None without a query
        city = city.parent
    clerk, created = User.objects.get_or_create(username=CLERK_USERNAME, defaults={"display_name": "服务大厅窗口 小李"})
    if created:
        clerk.set_password(DEMO_PASSWORD)
        clerk.save()
        role_grant(user=clerk, role=Role.CLERK, area=city)
    organiser = staff.supervisors[0] if staff.supervisors else User.objects.filter(is_superuser=True).first()
    grid_worker = staff.grid_workers.get(household.grid_id) if household.grid_id else None
    proposer = grid_worker or organiser

    items = [services.item_create(actor=organiser, area=community, name=name, price=price, stock=stock, pickup_place=place)
             for name, price, stock, place in (
                 ("环保洗衣液 1kg", 20, 30, "社区服务站"), ("食用油 5L", 60, 10, "社区服务站"),
                 ("理发券（合作商户）", 15, 50, "社区商业街理发店"), ("公交卡充值 20 元", 40, 20, "社区服务站"))]

    for n in range(8):
        services.points_earn(resident=demo, rule_code="report_confirmed", cause_key=f"demo:report:{n}",
                             cause_label="有效诉求（演示）")
    for n in range(12):
        services.points_earn(resident=demo, rule_code="vote_cast", cause_key=f"demo:vote:{n}", cause_label="参与投票（演示）")
    services.points_award_by_staff(actor=proposer, resident=demo, rule_code="commendation",
                                   cause_label="帮助邻居老人就医", cause_key="demo:commendation:1")
    services.points_award_by_staff(actor=proposer, resident=demo, rule_code="commendation",
                                   cause_label="见义勇为：扑灭楼道电动车起火", cause_key="demo:commendation:2")
    hero = Rule.objects.get(code="commendation")
    if hero.approval_threshold is not None:  # a large award waiting for a second committee member
        from tongxin.points.models import PendingAward

        PendingAward.objects.get_or_create(
            idempotency_key=f"commendation:r{demo.pk}:demo:hero", defaults={
                "resident": demo, "rule": hero, "amount": hero.approval_threshold + 50,
                "cause_label": "见义勇为：跳入河中救起落水儿童", "proposed_by": proposer})
    deduction = services.points_award_by_staff(actor=proposer, resident=demo, rule_code="uncivil_act",
                                               cause_label="电动车停放在消防通道", cause_key="demo:uncivil:1")
    if deduction is not None:
        services.appeal_file(resident=demo, entry_id=deduction.pk, reason="当天车辆是快递员临时停放，不是我家的车")
    redeemed = services.redemption_create(resident=demo, item_id=items[0].pk)  # the washing liquid, 20 points

    now = timezone.localtime()
    lat, lng = _centre(household.grid or community)
    start = (now + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    services.activity_create(actor=organiser, area=community, title="社区楼道清扫志愿活动", location=f"{community.name}服务站门前",
                             lat=lat, lng=lng, radius_m=300, capacity=20, starts_at=start, ends_at=start + timedelta(hours=3))
    today = now.replace(hour=8, minute=0, second=0, microsecond=0)
    services.activity_create(actor=organiser, area=community, title="今日：文明交通劝导", location=f"{community.name}十字路口",
                             lat=lat, lng=lng, radius_m=300, capacity=10, starts_at=today, ends_at=today + timedelta(hours=12))
    sweep = services.report_awards_sweep()
    say(f"积分：商城 4 件商品，志愿活动 2 个，演示居民已兑换 1 件（领取码 {redeemed.pickup_code}），"
        f"有效诉求积分 {sweep['paid']} 笔；窗口工作人员登录 {CLERK_USERNAME}")
    return 1
