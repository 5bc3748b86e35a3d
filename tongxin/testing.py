"""Fixed, named test states ("the world"): shared by the test suite and the benchmarks.

Two districts with one town each, a community and a grid under town A; the 12345 centre, two
departments of district A and one city-wide company; one user per role, each with a plain scope. No
randomness: every name and code below is what the tests assert on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tongxin.accounts.choices import DepartmentKind, Role
from tongxin.accounts.models import Department, User
from tongxin.accounts.services import role_grant
from tongxin.regions.choices import AreaLevel
from tongxin.regions.models import Area
from tongxin.regions.services import area_upsert
from tongxin.workorders.catalogue import category_upsert, dispatch_rule_create
from tongxin.workorders.models import Category
from tongxin.workorders.sla import sla_default_policy_ensure

PASSWORD = "tongxin-test-pass"  # noqa: S105 - test fixture


def square(lng: float, lat: float, size: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lng, lat], [lng + size, lat], [lng + size, lat + size],
                                                [lng, lat + size], [lng, lat]]]}


@dataclass
class World:
    city: Area
    district_a: Area
    district_b: Area
    town_a: Area
    town_b: Area
    community_a: Area
    grid_a: Area
    centre: Department
    housing: Department  # district A housing bureau: lead for 城乡建设
    water: Department  # city water company: co-handler
    education: Department  # district B education bureau
    category_root: Category
    category_leaf: Category
    category_other: Category
    users: dict[str, User] = field(default_factory=dict)

    def user(self, name: str) -> User:
        return self.users[name]


def real_png(size: tuple[int, int] = (4, 4)) -> bytes:
    """A real PNG: uploads are decoded and re-encoded, so a test's "image" must be one."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "PNG")
    return out.getvalue()


def make_user(username: str, *, display_name: str = "", superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, display_name=display_name or username)
    if superuser:
        user.is_superuser = user.is_staff = True
        user.save()
    return user


def build_world() -> World:
    sla_default_policy_ensure()
    # City 150600 spans lng 107–111, lat 37–41; district A west half, B east half.
    city = area_upsert(code="150600", name="测试市", level=AreaLevel.CITY, parent=None, boundary=square(107, 37, 4))
    district_a = area_upsert(code="150602", name="甲区", level=AreaLevel.DISTRICT, parent=city, boundary=square(107, 37, 2))
    district_b = area_upsert(code="150603", name="乙区", level=AreaLevel.DISTRICT, parent=city, boundary=square(109, 37, 2))
    town_a = area_upsert(code="150602001", name="甲街道", level=AreaLevel.TOWN, parent=district_a, boundary=square(107, 37, 1))
    town_b = area_upsert(code="150603001", name="乙街道", level=AreaLevel.TOWN, parent=district_b, boundary=square(109, 37, 1))
    community_a = area_upsert(code="150602001001", name="甲社区", level=AreaLevel.COMMUNITY, parent=town_a,
                              boundary=square(107, 37, 0.5))
    grid_a = area_upsert(code="150602001001G01", name="甲一网格", level=AreaLevel.GRID, parent=community_a,
                         boundary=square(107, 37, 0.25))
    centre = Department.objects.create(code="D-CENTRE", name="12345热线中心", kind=DepartmentKind.CENTRE, area=city)
    housing = Department.objects.create(code="D-HOUSING-A", name="甲区住建局", area=district_a)
    water = Department.objects.create(code="D-WATER", name="市水务公司", kind=DepartmentKind.ENTERPRISE, area=city)
    education = Department.objects.create(code="D-EDU-B", name="乙区教育局", area=district_b)
    root = category_upsert(code="C01", name="城乡建设")
    mid = category_upsert(code="C0101", name="市政管理", parent=root)
    leaf = category_upsert(code="C010101", name="垃圾清理", parent=mid)
    other = category_upsert(code="C02", name="教育文体")
    dispatch_rule_create(category=root, area=district_a, lead_department=housing, co_departments=[water])
    dispatch_rule_create(category=other, area=None, lead_department=education)
    world = World(city=city, district_a=district_a, district_b=district_b, town_a=town_a, town_b=town_b,
                  community_a=community_a, grid_a=grid_a, centre=centre, housing=housing, water=water,
                  education=education, category_root=root, category_leaf=leaf, category_other=other)
    grants: list[tuple[str, str, Area | None, Department | None]] = [
        ("operator", Role.OPERATOR, city, None),
        ("dispatcher", Role.DISPATCHER, city, None),
        ("supervisor", Role.SUPERVISOR, city, None),
        ("dispatcher_b", Role.DISPATCHER, district_b, None),  # a district-B dispatcher: cannot see district A
        ("handler", Role.HANDLER, None, housing),
        ("handler2", Role.HANDLER, None, housing),
        ("water_handler", Role.HANDLER, None, water),
        ("edu_handler", Role.HANDLER, None, education),
        ("grid_worker", Role.GRID_WORKER, grid_a, None),
        ("leader", Role.LEADER, city, None),
        ("leader_b", Role.LEADER, district_b, None),
        ("admin", Role.ADMIN, city, None),
    ]
    for username, role, area, department in grants:
        user = make_user(username, display_name=username)
        role_grant(user=user, role=role, area=area, department=department)
        world.users[username] = user
    world.users["nobody"] = make_user("nobody")
    return world


def parse_matrix(text: str, columns: Sequence[str]) -> dict[str, dict[str, int]]:
    """A permission matrix written as a table, as every matrix test writes it: a header line, then one
    row per endpoint or page, ``METHOD /path | status status …`` with one status per column (``/path``
    may carry a ``#variant``). Keyed by ``"METHOD /path"``; a row with the wrong number of cells or a
    repeated key fails at import, naming the row."""
    matrix: dict[str, dict[str, int]] = {}
    for line in text.strip().splitlines()[1:]:
        endpoint, cells = line.split("|")
        method, path = endpoint.split()
        statuses = [int(cell) for cell in cells.split()]
        assert len(statuses) == len(columns), line
        key = f"{method} {path}"
        assert key not in matrix, f"duplicate row {key}"
        matrix[key] = dict(zip(columns, statuses, strict=True))
    return matrix


def run_together(calls: list[Callable[[], Any]], timeout: float = 60) -> list[tuple[str, Any]]:
    """Real parallel clients for the PostgreSQL concurrency tests: each call in its own thread with its
    own database connection, all released at once by a barrier; ``("ok", value)`` or ``("error",
    exception)`` per call, in order. A thread still alive after ``timeout`` fails the test (a deadlock)."""
    import threading

    from django.db import connection, connections

    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()  # connect before the barrier, so the calls start together
            barrier.wait(timeout=timeout)
            results[index] = ("ok", call())
        except Exception as exc:
            results[index] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results
