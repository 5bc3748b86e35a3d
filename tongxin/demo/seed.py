"""``demo_seed``: everything the Ordos demo needs, in order, idempotently.

1. the working calendar (chinesecalendar's years) — deadlines must know the holidays before any order;
2. the area tree (places.py): real city, districts, towns; generated communities and grids;
3. categories, the default SLA policy, departments, the dispatch catalogue, the knowledge base, staff
   (organisation.py);
4. a year of work orders played through the services (history.py), with the seed clock — only when the
   database holds no work order yet, so a second run adds nothing;
5. one run of the SLA sweep at the real time, as the periodic job would have done;
6. the category classifier trained on that history (the demo never ships the contest messages), when no
   model is active yet — the same service the weekly retrain job runs.

Steps 1–3 are upserts by code or username and safe to repeat. ``DEFAULT_ORDERS`` is the default size
of the history (``tongxin demo --orders N`` changes it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from tongxin.core.calendar_seed import calendar_seed_from_chinesecalendar
from tongxin.core.workcalendar import invalidate_calendar_cache
from tongxin.insight.selectors import classifier_has_active
from tongxin.insight.services import classifier_retrain
from tongxin.regions.selectors import invalidate_locator
from tongxin.workorders.models import WorkOrder
from tongxin.workorders.sla import invalidate_sla_cache
from tongxin.workorders.sweep import sla_sweep

from .clock import seed_clock
from .history import HistoryReport, seed_history, status_counts
from .mediation import seed_mediation
from .organisation import DEMO_PASSWORD, seed_organisation
from .places import CITY_CODE, seed_places
from .residents import seed_residents

DEFAULT_ORDERS = 3_000  # a year of history that seeds in a few minutes; --orders for more


@dataclass
class SeedReport:
    logins: list[tuple[str, str, str]]
    password: str
    history: HistoryReport | None
    skipped_history: bool
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)


def demo_is_seeded() -> bool:
    """True once the demo city and at least one work order exist."""
    from tongxin.regions.selectors import area_get_by_code

    return area_get_by_code(CITY_CODE) is not None and WorkOrder.objects.exists()


def _settle_notifications() -> int:
    """The services notified departments of every dispatch in the history, at seeding time. A year's worth
    of "new order to sign" for orders long closed would bury the few that matter, so those about orders
    no longer with a department are marked read (no service marks notifications read yet: one update)."""
    from django.utils import timezone

    from tongxin.accounts.models import Notification
    from tongxin.workorders.choices import WITH_DEPARTMENT

    open_ids = [str(pk) for pk in WorkOrder.objects.filter(status__in=WITH_DEPARTMENT).values_list("pk", flat=True)]
    return (
        Notification.objects.filter(object_type="workorder", read_at__isnull=True)
        .exclude(object_id__in=open_ids).update(read_at=timezone.now())
    )


LOGIN_USERNAMES = ("operator", "dispatcher", "supervisor", "handler", "grid", "leader", "admin",
                   "dispatcher_dongsheng", "leader_kangbashi", "mediator", "mediator_city")


def demo_logins() -> tuple[list[tuple[str, str, str]], str]:
    """The printed logins (username, role, scope), read back from the database, and the password."""
    from tongxin.accounts.models import RoleAssignment
    from tongxin.regions.models import Area
    from tongxin.regions.selectors import area_ancestor_ids

    rows: list[tuple[str, str, str]] = []
    assignments = {
        ra.user.username: ra for ra in RoleAssignment.objects.filter(user__username__in=LOGIN_USERNAMES)
        .select_related("user", "area", "department")
    }
    for username in LOGIN_USERNAMES:
        ra = assignments.get(username)
        if ra is None:
            continue
        if ra.department is not None:
            scope = ra.department.name
        elif ra.area is not None and ra.area.level == "grid":
            names = dict(Area.objects.filter(pk__in=area_ancestor_ids(ra.area)).values_list("pk", "name"))
            # District and town, then the grid (whose name already carries its community's).
            ids = area_ancestor_ids(ra.area)
            scope = "".join(names[pk] for pk in [*ids[1:3], ids[-1]] if pk in names)
        else:
            scope = ra.area.name if ra.area else ""
        label = "管理员（超级用户）" if ra.user.is_superuser else ra.get_role_display()
        rows.append((username, str(label), scope))
    return rows, DEMO_PASSWORD


def demo_seed(*, orders: int = DEFAULT_ORDERS, log: Callable[[str], Any] | None = None) -> SeedReport:
    started = time.perf_counter()
    steps: dict[str, float] = {}
    say = log or (lambda _message: None)

    def step(name: str, mark: float) -> float:
        now = time.perf_counter()
        steps[name] = round(now - mark, 2)
        return now

    mark = started
    calendar = calendar_seed_from_chinesecalendar()
    invalidate_calendar_cache()
    say(f"工作日历：{calendar['years'][0]}–{calendar['years'][-1]} 年（{calendar['source']}）")
    mark = step("calendar", mark)
    with transaction.atomic():
        places = seed_places(log=say)
    invalidate_locator()
    mark = step("places", mark)
    with transaction.atomic():
        org = seed_organisation(places, log=say)
        places.seed_roster(org.staff.grid_workers, log=say)
    invalidate_sla_cache()
    mark = step("organisation", mark)
    with transaction.atomic():
        seed_residents(places, log=say)
    mark = step("residents", mark)
    history: HistoryReport | None = None
    skipped = WorkOrder.objects.exists()
    if skipped:
        say("已有工单：不再生成历史工单（如需重建请用 --reset）")
    elif orders > 0:
        say(f"生成过去一年的 {orders} 张工单（全部经由业务服务办理）…")
        with seed_clock() as clock:
            history = seed_history(places, org, clock, count=orders, log=say)
        settled = _settle_notifications()
        say(f"通知：{settled} 条关于已结束工单的历史通知标记为已读")
        mark = step("history", mark)
        sweep = sla_sweep()
        say(f"时限巡检：签收催办 {len(sweep.sign_reminders)}，办结催办 {len(sweep.due_reminders)}，"
            f"超期督办 {len(sweep.supervisions)}")
        mark = step("sweep", mark)
    with transaction.atomic():
        seed_mediation(places, org, log=say)
        __import__("tongxin.demo.participation", fromlist=["x"]).seed_participation(org.staff, log=say)
        __import__("tongxin.demo.grids", fromlist=["x"]).seed_grids(places, org.staff, log=say)
        __import__("tongxin.demo.points", fromlist=["x"]).seed_points(org.staff, log=say)  # docs/points.md
    mark = step("mediation", mark)
    if not classifier_has_active():
        retrain = classifier_retrain(log=say)
        say(f"分类模型：{retrain.message}（{retrain.seconds} 秒）")
        mark = step("classifier", mark)
    from tongxin.dashboard.rollups import rebuild as dashboard_rebuild

    rollups = dashboard_rebuild()  # the city screen's rollups, from the orders just seeded
    say(f"城市运行统计表：{rollups['rows']} 行（{rollups['seconds']} 秒）")
    mark = step("dashboard", mark)
    statuses = status_counts()
    if history and history.calls:
        say("业务服务平均耗时：" + "，".join(
            f"{name.removeprefix('work_order_')} {history.call_seconds[name] / count * 1000:.1f} ms×{count}"
            for name, count in history.calls.most_common()
        ))
    if history and history.rejections:
        say(f"注意：有 {sum(history.rejections.values())} 个办理步骤被业务服务拒绝：{dict(history.rejections)}")
    if history:
        say(f"工单：{history.orders} 张（另有重办 {history.redos} 张），用时 {history.seconds:.1f} 秒；"
            + "，".join(f"{k} {v}" for k, v in statuses.items()))
    return SeedReport(
        logins=org.staff.logins, password=DEMO_PASSWORD, history=history, skipped_history=skipped,
        seconds=round(time.perf_counter() - started, 2), steps=steps, statuses=statuses,
    )
