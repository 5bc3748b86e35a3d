"""A year of work orders, each played through the real services from intake to callback.

Every order is planned first (when it came in, where, about what, through which channel, what will
happen to it), the plans are sorted by intake time, and each is then played step by step with the seed
clock (``clock.seed_clock``) set to the moment of the step: intake, dispatch, sign or return, extension,
reminder, supervision, co-handlers' replies, the reply, the callback, sometimes a redo. A step whose
moment lies in the future is not played, so recent orders are still open, and the ones whose handling
runs late are overdue right now, exactly as in a live system. A step a service rejects is a bug in the seed
(or in the service): the step is rolled back by the service, the order stays where it was, the seed
counts it in ``HistoryReport.rejections`` and goes on; the tests demand that there be none.

Randomness comes from one seeded generator, so the same ``--orders`` gives the same history.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from tongxin.accounts.models import Department, User
from tongxin.core.errors import ApplicationError
from tongxin.workorders import services as wo
from tongxin.workorders.choices import (
    DEPARTMENT_CONTROLLABLE_CAUSES,
    Channel,
    Kind,
    ReturnReason,
    Satisfaction,
    Status,
    UnsatisfiedCause,
    Urgency,
)
from tongxin.workorders.models import WorkOrder

from . import content
from .clock import SeedClock
from .content import TOPICS, Topic, Where
from .geometry import random_points
from .organisation import Organisation, route
from .places import GridInfo, Places

logger = logging.getLogger("tongxin.demo")

CHANNELS = [
    (Channel.HOTLINE, 58), (Channel.APP, 12), (Channel.GRID, 10), (Channel.WEB, 7), (Channel.QR, 4),
    (Channel.POLICE_TRANSFER, 4), (Channel.WALK_IN, 3), (Channel.OPEN311, 2),
]
# Share of calls by hour of the day (local time): quiet at night, peaks in the morning and afternoon.
HOURS = [1, 1, 0.5, 0.5, 0.5, 1, 2, 5, 10, 12, 11, 9, 6, 6, 9, 10, 10, 9, 7, 6, 6, 5, 3, 2]
INVALID_TEXTS = ("来电接通后无人说话，多次询问无应答。", "来电人反映的内容与政务服务无关，系推销广告。", "来电人情绪激动，未说明具体诉求即挂断。")
POLICE_TEXTS = ("{place}楼下有人打架，已经有人受伤了。", "{place}附近发现有人撬车门，请警察赶快过来。")
WITHDRAW_NOTE = "诉求人来电表示问题已自行解决，申请撤单。"
UNSATISFIED_NOTES = {
    UnsatisfiedCause.NOT_SOLVED: "诉求人表示问题仍未解决。",
    UnsatisfiedCause.NO_CONTACT: "诉求人表示承办单位没有联系过本人。",
    UnsatisfiedCause.POOR_ATTITUDE: "诉求人对工作人员的态度不满意。",
    UnsatisfiedCause.DELAYED: "诉求人认为办理时间过长。",
    UnsatisfiedCause.POLICY_LIMIT: "受现行政策限制暂无法解决，诉求人不认可。",
    UnsatisfiedCause.UNREASONABLE: "诉求超出政策规定，已解释，诉求人仍不满意。",
}


@dataclass
class Plan:
    at: datetime
    topic: Topic | None
    kind: str
    text: str
    urgency: str
    channel: str
    grid: GridInfo
    point: tuple[float, float]
    where: Where
    name: str
    phone: str
    anonymous: bool
    fate: str  # normal | invalid | police | merge | withdraw | misroute | insist | late | extension


@dataclass
class HistoryReport:
    orders: int = 0
    redos: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    calls: Counter = field(default_factory=Counter)
    call_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    rejections: Counter = field(default_factory=Counter)


class Stop(Exception):
    """The next step lies in the future: the order stays where it is."""


class Player:
    def __init__(self, places: Places, org: Organisation, clock: SeedClock, rng: random.Random,
                 report: HistoryReport) -> None:
        self.places, self.org, self.clock, self.rng, self.report = places, org, clock, rng, report
        self.staff = org.staff
        self.recent: dict[tuple[str, str], list[tuple[int, datetime]]] = {}  # (district, topic) → originals
        self.closed_ids: set[int] = set()  # merged, withdrawn, invalid, transferred: not merge targets
        self.tz = timezone.get_default_timezone()

    # --- time ---------------------------------------------------------------------------------------

    def go(self, moment: datetime) -> datetime:
        if moment > self.clock.real_now:
            raise Stop
        return self.clock.set(moment)

    def office(self, moment: datetime) -> datetime:
        """Move a department's action into office hours (08:00–18:30), mostly off weekends."""
        local = timezone.localtime(moment, self.tz)
        if local.hour < 8:
            local = local.replace(hour=8, minute=self.rng.randrange(60))
        elif local.hour > 18 or (local.hour == 18 and local.minute > 30):
            local = (local + timedelta(days=1)).replace(hour=8, minute=self.rng.randrange(60))
        if local.weekday() >= 5 and self.rng.random() < 0.7:
            local = (local + timedelta(days=7 - local.weekday())).replace(hour=8, minute=self.rng.randrange(60))
        return local

    def between(self, start: datetime, end: datetime, low: float, high: float) -> datetime:
        return start + (end - start) * self.rng.uniform(low, high)

    # --- calls, timed so the report can say which service is slow --------------------------------------

    def call(self, name: str, function: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = function(**kwargs)
        self.report.calls[name] += 1
        self.report.call_seconds[name] += time.perf_counter() - started
        return result

    # --- one order ----------------------------------------------------------------------------------

    def intake_actor(self, plan: Plan) -> User:
        if plan.channel == Channel.GRID:
            return self.staff.grid_workers[plan.grid.area.pk]
        return self.rng.choice(self.staff.operators)

    def dispatcher_for(self, plan: Plan) -> User:
        if self.rng.random() < 0.2:
            return self.staff.district_dispatchers[plan.grid.district_code]
        return self.rng.choice(self.staff.dispatchers)

    def play(self, plan: Plan) -> None:
        self.go(plan.at)
        category = self.org.categories[plan.topic.path] if plan.topic else None
        if plan.fate == "police":
            category = self.org.categories[("政法", "社会治安", "治安案件")]
        order = self.call(
            "work_order_create", wo.work_order_create,
            actor=self.intake_actor(plan), channel=plan.channel, kind=plan.kind, content=plan.text,
            urgency=plan.urgency, category_code=category.code if category else None, lat=plan.point[1],
            lng=plan.point[0], crs="wgs84", area_code=plan.grid.area.code, address=plan.where.address,
            citizen_name=plan.name, citizen_phone=plan.phone, anonymous=plan.anonymous, accepted_at=plan.at,
        )
        self.report.orders += 1
        with contextlib.suppress(Stop):
            try:
                self.after_intake(plan, order)
            except ApplicationError as exc:
                self.rejected(order, exc)

    def rejected(self, order: WorkOrder, exc: ApplicationError) -> None:
        """A service said no. The step was rolled back by the service's own transaction, so the order
        simply stays where it was; the seed goes on, counts it and says so (the tests demand zero)."""
        self.report.rejections[exc.code] += 1
        if sum(self.report.rejections.values()) <= 5:
            logger.warning("demo seed: a service rejected a step of order %s: %s %s %s", order.number, exc.code,
                           exc.message, exc.fields)

    def after_intake(self, plan: Plan, order: WorkOrder) -> None:
        rng = self.rng
        operator = rng.choice(self.staff.operators)
        if plan.fate == "invalid":
            self.go(plan.at + timedelta(minutes=rng.randint(3, 40)))
            self.call("work_order_mark_invalid", wo.work_order_mark_invalid, order_id=order.pk,
                      actor=self.dispatcher_for(plan), note="无效来电，不予派单。")
            self.closed_ids.add(order.pk)
            return
        if plan.fate == "police":
            self.go(plan.at + timedelta(minutes=rng.randint(1, 5)))
            self.call("work_order_transfer_police", wo.work_order_transfer_police, order_id=order.pk, actor=operator,
                      note="涉及治安警情，已转110处置。")
            self.closed_ids.add(order.pk)
            return
        key = (plan.grid.district_code, plan.topic.path[-1] if plan.topic else "")
        if plan.fate == "merge":
            candidates = [(pk, at) for pk, at in self.recent.get(key, [])
                          if pk not in self.closed_ids and plan.at - at < timedelta(days=5)]
            if candidates:
                original = candidates[-1][0]
                self.go(plan.at + timedelta(minutes=rng.randint(2, 30)))
                self.call("work_order_merge", wo.work_order_merge, order_id=order.pk, actor=operator, into_id=original,
                          note="与已受理工单反映同一问题，并单处理。")
                self.closed_ids.add(order.pk)
                return
        self.recent.setdefault(key, []).append((order.pk, plan.at))
        if len(self.recent[key]) > 8:
            del self.recent[key][0]
        category_id = category_id_of(self.org, plan)
        articles = self.org.knowledge.get(category_id, []) if category_id is not None else []
        if plan.kind == Kind.INQUIRY and plan.channel != Channel.GRID and (
                (articles and rng.random() < 0.8) or rng.random() < 0.35):
            self.go(plan.at + timedelta(minutes=rng.randint(2, 12)))
            article = rng.choice(articles) if articles else None
            text = f"话务员依据知识库答复：{article.answer}" if article else content.INQUIRY_REPLY
            self.call("work_order_resolve_on_call", wo.work_order_resolve_on_call, order_id=order.pk, actor=operator,
                      text=text, knowledge_article_id=article.pk if article else None)
            self.callback(plan, order, replied_at=self.clock.current, department=self.org.centre)
            return
        self.dispatch_and_handle(plan, order)

    def dispatch_and_handle(self, plan: Plan, order: WorkOrder) -> None:
        rng = self.rng
        topic = plan.topic
        assert topic is not None
        departments = self.org.departments
        lead, co = route(departments, topic.path, plan.grid.district_code, plan.grid.town_code)
        urgent = plan.urgency != Urgency.NORMAL
        moment = plan.at + timedelta(minutes=rng.randint(1, 8) if urgent else rng.randint(5, 50))
        local = timezone.localtime(moment, self.tz)
        if not urgent and (local.hour >= 22 or local.hour < 7):  # the night shift dispatches only urgent orders
            moment = self.office(moment)
        self.go(moment)
        dispatcher = self.dispatcher_for(plan)
        first_lead = lead
        if plan.fate == "misroute":
            first_lead = departments[f"{plan.grid.district_code}-SJ"] if lead.code.endswith("-ZJ") else \
                departments.get(f"{plan.grid.district_code}-ZJ", departments["C-ZJ"])
        order = self.call("work_order_dispatch", wo.work_order_dispatch, order_id=order.pk, actor=dispatcher,
                          lead_department_id=first_lead.pk,
                          co_department_ids=[d.pk for d in co] if first_lead == lead else [])
        if plan.fate in {"misroute", "insist"}:
            handler = self.staff.handlers[first_lead.pk]
            self.go(self.office(self.between(_stamped(order.dispatched_at), _stamped(order.sign_due_at), 0.1, 0.8)))
            reason = ReturnReason.NOT_OUR_DUTY if plan.fate == "misroute" else rng.choice(
                [ReturnReason.NOT_OUR_DUTY, ReturnReason.INSUFFICIENT_INFO])
            self.call("work_order_return", wo.work_order_return, order_id=order.pk, actor=handler, reason=reason,
                      note=content.RETURN_NOTES[reason])
            self.go(self.clock.current + timedelta(minutes=rng.randint(10, 120)))
            if plan.fate == "misroute":
                order = self.call("work_order_reassign", wo.work_order_reassign, order_id=order.pk, actor=dispatcher,
                                  lead_department_id=lead.pk, co_department_ids=[d.pk for d in co],
                                  note=f"经核实属{lead.name}职责，改派。")
            else:
                # The centre insists: the same lead and, restored by the service, the same co-handlers.
                order = self.call("work_order_force_dispatch", wo.work_order_force_dispatch, order_id=order.pk,
                                  actor=dispatcher, note="经核实属于贵单位职责范围，请签收办理。")
        self.handle(plan, order, lead, co, dispatcher)

    def handle(self, plan: Plan, order: WorkOrder, lead: Department, co: list[Department], dispatcher: User) -> None:
        """The department's part, from signing to the callback (and a redo, which comes back here)."""
        rng = self.rng
        handler = self.staff.handlers[lead.pk]
        late = plan.fate == "late"
        dispatched_at, sign_due_at = _stamped(order.dispatched_at), _stamped(order.sign_due_at)
        if rng.random() < 0.94 and not (late and rng.random() < 0.3):
            signed = self.office(self.between(dispatched_at, sign_due_at, 0.05, 0.85))
            if signed > sign_due_at:
                signed = sign_due_at - timedelta(minutes=rng.randint(1, 10))
        else:
            signed = self.office(sign_due_at + timedelta(minutes=rng.randint(10, 600)))
        signed = max(signed, dispatched_at + timedelta(minutes=1))
        self.go(signed)
        order = self.call("work_order_sign", wo.work_order_sign, order_id=order.pk, actor=handler)
        due = _stamped(order.due_at)
        if plan.fate == "extension" and due - signed > timedelta(hours=2):
            asked = self.office(self.between(signed, due, 0.3, 0.7))
            self.go(asked if asked < due else self.between(signed, due, 0.3, 0.7))
            requested = due + timedelta(days=rng.randint(5, 12))
            self.call("work_order_request_extension", wo.work_order_request_extension, order_id=order.pk,
                      actor=handler, requested_due_at=requested, reason=rng.choice(content.EXTENSION_REASONS))
            self.go(self.clock.current + timedelta(minutes=rng.randint(30, 300)))
            approve = rng.random() < 0.85
            order = self.call("work_order_decide_extension", wo.work_order_decide_extension, order_id=order.pk,
                              actor=dispatcher, approve=approve, note="" if approve else "时限内可以办结，不予延期。")
            due = _stamped(order.due_at)
        if late:
            replied = self.office(due + timedelta(hours=rng.uniform(2, 96)))
        else:
            replied = self.office(self.between(signed, due, 0.15, 0.9))
            if replied > due:
                replied = due - timedelta(minutes=rng.randint(5, 60))
        replied = max(replied, self.clock.current + timedelta(minutes=10))
        if (rng.random() < 0.06 or late) and due > self.clock.current:  # the centre reminds before the deadline
            reminder = self.between(self.clock.current, due, 0.6, 0.9)
            if reminder < replied:
                self.go(reminder)
                self.call("work_order_remind", wo.work_order_remind, order_id=order.pk, actor=dispatcher,
                          note="请抓紧办理，按时答复。")
        if late and rng.random() < 0.6:  # formal supervision after the breach
            supervised = max(due + timedelta(hours=rng.uniform(0.5, 3)), self.clock.current + timedelta(minutes=5))
            if supervised < replied:
                self.go(supervised)
                self.call("work_order_supervise", wo.work_order_supervise, order_id=order.pk,
                          actor=rng.choice(self.staff.supervisors), note="工单已超期，请立即办理并说明超期原因。")
        for department in co:
            self.go(self.between(self.clock.current, replied, 0.3, 0.8))
            self.call("work_order_co_reply", wo.work_order_co_reply, order_id=order.pk,
                      actor=self.staff.handlers[department.pk],
                      text=rng.choice(content.CO_REPLIES).format(fix=rng.choice(plan.topic.fixes) if plan.topic else ""))
        self.go(replied)
        self.call("work_order_reply", wo.work_order_reply, order_id=order.pk, actor=handler, text=self.reply_text(plan, lead))
        self.callback(plan, order, replied_at=replied, department=lead, co=co, dispatcher=dispatcher)

    def reply_text(self, plan: Plan, lead: Department) -> str:
        if plan.kind == Kind.PRAISE:
            return content.PRAISE_REPLY
        if plan.kind == Kind.INQUIRY:
            return content.INQUIRY_REPLY
        fix = self.rng.choice(plan.topic.fixes) if plan.topic else "已妥善处理"
        return self.rng.choice(content.REPLY_OPENINGS).format(fix=fix)

    def callback(self, plan: Plan, order: WorkOrder, *, replied_at: datetime, department: Department,
                 co: list[Department] | None = None, dispatcher: User | None = None) -> None:
        rng = self.rng
        moment = replied_at + timedelta(hours=rng.uniform(1, 30))
        local = timezone.localtime(moment, self.tz)
        if local.hour < 9 or local.hour >= 20:
            moment = (local + timedelta(days=1 if local.hour >= 20 else 0)).replace(hour=9, minute=rng.randrange(60))
        self.go(moment)
        operator = rng.choice(self.staff.operators)
        roll = rng.random()
        if plan.kind == Kind.PRAISE or roll < 0.80:
            satisfaction, cause = Satisfaction.SATISFIED, None
        elif roll < 0.92:
            satisfaction, cause = Satisfaction.BASICALLY_SATISFIED, None
        else:
            satisfaction = Satisfaction.UNSATISFIED
            cause = rng.choice(list(UNSATISFIED_NOTES))
            if cause in DEPARTMENT_CONTROLLABLE_CAUSES and department != self.org.centre and rng.random() < 0.6 \
                    and order.redo_of_id is None:
                redo = self.call("work_order_redo", wo.work_order_redo, order_id=order.pk, actor=operator, cause=cause,
                                 note=UNSATISFIED_NOTES[cause] + "要求承办单位重新办理。")
                self.report.redos += 1
                self.handle(plan, redo, department, co or [], dispatcher or rng.choice(self.staff.dispatchers))
                return
        self.call("work_order_callback", wo.work_order_callback, order_id=order.pk, actor=operator,
                  satisfaction=satisfaction, cause=cause,
                  note=UNSATISFIED_NOTES.get(cause, "") if cause else "诉求人对办理结果表示认可。")


def _stamped(at: datetime | None) -> datetime:
    """A time the service just stamped on the order: dispatching sets ``dispatched_at`` and
    ``sign_due_at``, signing (and deciding an extension) sets ``due_at``."""
    assert at is not None
    return at


def category_id_of(org: Organisation, plan: Plan) -> int | None:
    category = org.categories.get(plan.topic.path) if plan.topic else None
    return category.pk if category else None


# --- planning ---------------------------------------------------------------------------------------

def _season_factor(topic: Topic, month: int) -> float:
    if topic.season == "winter":
        return 3.0 if month in (11, 12, 1, 2, 3) else (1.0 if month in (10, 4) else 0.08)
    if topic.season == "summer":
        return 1.6 if month in (6, 7, 8) else (0.5 if month in (12, 1, 2) else 1.0)
    return 1.0


def plan_orders(places: Places, org: Organisation, *, count: int, now: datetime, rng: random.Random) -> list[Plan]:
    tz = timezone.get_default_timezone()
    np_rng = np.random.default_rng(rng.randrange(2**32))
    start = now - timedelta(days=365)
    # Days: weekdays busier than weekends, the volume growing slowly over the year.
    days = [(start + timedelta(days=d)) for d in range(366)]
    day_weights = [(0.75 if timezone.localtime(d, tz).weekday() >= 5 else 1.0) * (0.9 + 0.2 * i / 365)
                   for i, d in enumerate(days)]
    day_cum = list(accumulate(day_weights))
    hour_cum = list(accumulate(HOURS))
    topic_cum_by_month = {
        month: list(accumulate(t.weight * _season_factor(t, month) for t in TOPICS)) for month in range(1, 13)
    }
    grids = places.grids
    grid_cum = list(accumulate(g.weight for g in grids))
    channel_cum = list(accumulate(w for _c, w in CHANNELS))
    callers: list[tuple[str, str]] = []
    plans: list[Plan] = []
    while len(plans) < count:
        day = days[bisect.bisect(day_cum, rng.random() * day_cum[-1])]
        local_day = timezone.localtime(day, tz)
        hour = bisect.bisect(hour_cum, rng.random() * hour_cum[-1])
        at = local_day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
        if at < start or at > now:
            continue
        month_cum = topic_cum_by_month[at.month]
        topic = TOPICS[bisect.bisect(month_cum, rng.random() * month_cum[-1])]
        kind, template = rng.choice(topic.templates)
        grid = grids[bisect.bisect(grid_cum, rng.random() * grid_cum[-1])]
        channel = CHANNELS[bisect.bisect(channel_cum, rng.random() * channel_cum[-1])][0]
        if channel == Channel.GRID and (grid.area.pk not in org.staff.grid_workers or kind == Kind.INQUIRY):
            channel = Channel.HOTLINE
        urgency = Urgency.NORMAL
        if rng.random() < topic.urgent:
            urgency = Urgency.CRITICAL if rng.random() < 0.2 else Urgency.URGENT
        where = content.make_where(rng, stem=grid.address_stem, community=grid.area.parent.name if grid.area.parent
                                   else "", urban=grid.urban)
        roll = rng.random()
        fate = ("invalid" if roll < 0.012 else "police" if roll < 0.018 else "merge" if roll < 0.033
                else "withdraw" if roll < 0.041 else "misroute" if roll < 0.075 else "insist" if roll < 0.085
                else "late" if roll < 0.15 else "extension" if roll < 0.19 else "normal")
        text = content.render(template, rng, where)
        if kind == Kind.PRAISE and rng.random() < 0.3:
            lead, _co = route(org.departments, topic.path, grid.district_code, grid.town_code)
            text = rng.choice(content.GENERIC_PRAISE).format(dept=lead.name)
        if fate == "invalid":
            kind, text, urgency = Kind.INQUIRY, rng.choice(INVALID_TEXTS), Urgency.NORMAL
        elif fate == "police":
            kind, text, urgency = Kind.REPORT, content.render(rng.choice(POLICE_TEXTS), rng, where), Urgency.URGENT
        anonymous = channel in {Channel.HOTLINE, Channel.WEB, Channel.APP} and rng.random() < 0.04
        if callers and rng.random() < 0.12:
            name, phone = rng.choice(callers)  # a repeat caller
        else:
            name, phone = content.person_name(rng), content.demo_phone(rng)
            callers.append((name, phone))
        if channel == Channel.GRID:
            name = name if rng.random() < 0.5 else ""
        plans.append(Plan(
            at=at, topic=None if fate in {"invalid"} else topic, kind=kind, text=text, urgency=urgency,
            channel=channel, grid=grid, point=random_points(grid.geom, 1, np_rng)[0], where=where,
            name="" if anonymous else name, phone="" if anonymous else phone, anonymous=anonymous, fate=fate,
        ))
    plans.sort(key=lambda p: p.at)
    return plans


def seed_history(places: Places, org: Organisation, clock: SeedClock, *, count: int, batch_size: int = 200,
                 log: Any = None, seed: int = 12345) -> HistoryReport:
    """Plan ``count`` orders over the past 365 days and play them, ``batch_size`` to a transaction."""
    report = HistoryReport()
    started = time.perf_counter()
    rng = random.Random(seed)
    plans = plan_orders(places, org, count=count, now=clock.real_now, rng=rng)
    player = Player(places, org, clock, rng, report)
    for offset in range(0, len(plans), batch_size):
        with transaction.atomic():
            for plan in plans[offset:offset + batch_size]:
                if plan.fate == "withdraw":
                    _play_withdrawn(player, plan)
                else:
                    player.play(plan)
        if log and (offset // batch_size) % 5 == 4:
            done = min(offset + batch_size, len(plans))
            elapsed = time.perf_counter() - started
            log(f"  工单 {done}/{len(plans)}，已用 {elapsed:.0f} 秒，预计还需 {elapsed / done * (len(plans) - done):.0f} 秒")
    report.seconds = time.perf_counter() - started
    return report


def _play_withdrawn(player: Player, plan: Plan) -> None:
    """A request the citizen withdraws, before or after dispatch."""
    player.go(plan.at)
    category = player.org.categories[plan.topic.path] if plan.topic else None
    order = player.call(
        "work_order_create", wo.work_order_create,
        actor=player.intake_actor(plan), channel=plan.channel, kind=plan.kind, content=plan.text,
        urgency=plan.urgency, category_code=category.code if category else None, lat=plan.point[1],
        lng=plan.point[0], crs="wgs84", area_code=plan.grid.area.code, address=plan.where.address,
        citizen_name=plan.name, citizen_phone=plan.phone, anonymous=plan.anonymous, accepted_at=plan.at,
    )
    player.report.orders += 1
    try:
        if player.rng.random() < 0.5 and plan.topic is not None:
            lead, co = route(player.org.departments, plan.topic.path, plan.grid.district_code, plan.grid.town_code)
            player.go(plan.at + timedelta(minutes=player.rng.randint(5, 50)))
            player.call("work_order_dispatch", wo.work_order_dispatch, order_id=order.pk,
                        actor=player.dispatcher_for(plan), lead_department_id=lead.pk,
                        co_department_ids=[d.pk for d in co])
        player.go(player.clock.current + timedelta(hours=player.rng.uniform(0.5, 20)))
        player.call("work_order_withdraw", wo.work_order_withdraw, order_id=order.pk,
                    actor=player.rng.choice(player.staff.operators), note=WITHDRAW_NOTE)
        player.closed_ids.add(order.pk)
    except Stop:
        pass
    except ApplicationError as exc:
        player.rejected(order, exc)


def status_counts() -> dict[str, int]:
    counts = Counter(WorkOrder.objects.values_list("status", flat=True))
    return {str(Status(k).label): v for k, v in counts.most_common()}
