"""The demo's grid work: thirty days of patrols with check-ins, field reports (most settled on the spot,
some raised as work orders of channel ``grid``) and residents' opinions, all through the grids services
under the seed clock.

Who: the printed login ``grid`` (the first grid of 康巴什区) and one generated grid worker for each of the
next grids of 康巴什区 (``grid_kbs_01`` …), so that the map's patrol coverage varies from grid to grid.
Patrols walk between random points inside the grid (fixed random seed). Idempotent: nothing is added
once any patrol exists.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from shapely.geometry import Point

from tongxin.accounts.choices import Role
from tongxin.grids import services as gs
from tongxin.grids.models import Patrol

from .clock import seed_clock
from .content import person_name
from .organisation import _grant, demo_user_ensure

DAYS = 30
EXTRA_WORKERS = 11  # generated grid workers in 康巴什区 besides the printed ``grid`` login
FINDINGS = [
    ("楼道内堆放杂物，影响消防通道", "已督促住户清理，楼道恢复畅通", True),
    ("小区门口垃圾桶满溢", "已联系保洁员清运", True),
    ("单元门禁损坏，无法关闭", "已通知物业维修，门禁恢复使用", True),
    ("绿化带内有私搭晾衣绳", "已劝导住户拆除", True),
    ("路灯不亮，夜间照明不足", "", False),
    ("人行道地砖松动塌陷", "", False),
    ("电动车在楼道内充电", "已现场劝导并宣传消防安全", True),
    ("井盖缺失存在安全隐患", "", False),
]
OPINIONS = [
    ("livelihood", "希望社区增设老年人助餐点"),
    ("security", "晚上小区后门无人值守，希望加强巡逻"),
    ("environment", "垃圾分类投放点太少，建议增加"),
    ("property", "物业费使用情况希望按季度公示"),
    ("neighbourhood", "楼上装修噪音大，希望社区协调作业时间"),
    ("other", "希望开设儿童暑期托管班"),
]


def _photo(rng: random.Random) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (rng.randint(60, 200), rng.randint(60, 200), rng.randint(60, 200))).save(out, "JPEG")
    return SimpleUploadedFile("demo.jpg", out.getvalue(), content_type="image/jpeg")


def _points_inside(geom: Any, rng: random.Random, n: int) -> list[tuple[float, float]]:
    """n random (lng, lat) points inside the grid, walking: each near the previous one."""
    min_x, min_y, max_x, max_y = geom.bounds
    step = max(max_x - min_x, max_y - min_y) / 6
    points: list[tuple[float, float]] = []
    start = geom.representative_point()
    x, y = start.x, start.y
    for _ in range(n * 20):
        if len(points) >= n:
            break
        cx, cy = x + rng.uniform(-step, step), y + rng.uniform(-step, step)
        if geom.contains(Point(cx, cy)):
            x, y = cx, cy
            points.append((round(x, 7), round(y, 7)))
    return points or [(round(start.x, 7), round(start.y, 7))]


def seed_grids(places: Any, staff: Any, *, log: Callable[[str], Any] | None = None) -> dict[str, int]:
    say = log or (lambda _m: None)
    if Patrol.objects.exists():
        say("网格巡查：已有数据，跳过")
        return {}
    gs.opinion_topics_ensure()
    rng = random.Random(20261201)
    kbs = [g for g in places.grids if g.district_code == "150603"]
    workers: list[tuple[Any, Any]] = []
    printed = staff.grid_workers.get(kbs[0].area.pk) if kbs else None
    if printed is not None:
        workers.append((printed, kbs[0]))
    for n, info in enumerate(kbs[1:EXTRA_WORKERS + 1], start=1):
        user = demo_user_ensure(username=f"grid_kbs_{n:02d}", display_name="网格员 " + person_name(rng))
        _grant(user, Role.GRID_WORKER, area=info.area)
        workers.append((user, info))
    counts = {"patrols": 0, "checkins": 0, "settled": 0, "raised": 0, "opinions": 0}
    today = timezone.localdate()
    with seed_clock() as clock:
        for index, (user, info) in enumerate(workers):
            # The printed login patrols most days; the others less and less often (coverage varies).
            share = 0.85 if index == 0 else max(0.1, 0.7 - index * 0.06)
            for back in range(DAYS, 0, -1):
                if rng.random() > share:
                    continue
                day = today - timedelta(days=back)
                start = timezone.make_aware(datetime.combine(day, time(9, rng.randint(0, 50))))
                route = _points_inside(info.geom, rng, rng.randint(4, 7))
                clock.set(start)
                patrol = gs.patrol_start(actor=user, grid_id=info.area.pk, lat=route[0][1], lng=route[0][0], accuracy=10)
                moment = start
                for lng, lat in route[1:]:
                    moment += timedelta(minutes=rng.randint(6, 15))
                    clock.set(moment)
                    gs.patrol_checkin(actor=user, patrol_id=patrol.pk, lat=lat, lng=lng, accuracy=rng.randint(5, 30))
                    counts["checkins"] += 1
                if rng.random() < 0.35:
                    text, result, settle = rng.choice(FINDINGS)
                    clock.set(moment)
                    report = gs.field_report_create(actor=user, text=text, photo=_photo(rng), lat=route[-1][1],
                                                    lng=route[-1][0])
                    clock.set(moment + timedelta(minutes=20))
                    if settle:
                        gs.field_report_settle(actor=user, report_id=report.pk, result_text=result,
                                               result_photo=_photo(rng))
                        counts["settled"] += 1
                    else:
                        gs.field_report_raise(actor=user, report_id=report.pk, kind="help")
                        counts["raised"] += 1
                    moment += timedelta(minutes=25)
                if rng.random() < 0.25:
                    topic, text = rng.choice(OPINIONS)
                    clock.set(moment)
                    gs.opinion_create(actor=user, grid_id=info.area.pk, topic_code=topic, text=text,
                                      address=f"{info.address_stem}{rng.randint(1, 20)}号楼")
                    counts["opinions"] += 1
                clock.set(moment + timedelta(minutes=10))
                gs.patrol_end(actor=user, patrol_id=patrol.pk, note="巡查正常" if rng.random() < 0.7 else "发现问题已处置")
                counts["patrols"] += 1
    say(f"网格巡查：{len(workers)} 名网格员，巡查 {counts['patrols']} 次（打卡 {counts['checkins']} 次），"
        f"事件自办结 {counts['settled']}、上报工单 {counts['raised']}，社情民意 {counts['opinions']} 条")
    return counts
