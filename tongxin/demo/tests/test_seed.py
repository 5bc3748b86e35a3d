"""The Ordos demo seed on a small history (300 orders), on the real database.

Seeding takes a while (the whole area tree and ~600 staff are real service calls), so one module-scoped
seed is shared by the tests here and rolled back at the end.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction
from shapely.geometry import Point, shape

from tongxin.accounts.choices import Role
from tongxin.accounts.models import Department, RoleAssignment, User
from tongxin.demo.clock import seed_clock
from tongxin.demo.seed import demo_is_seeded, demo_logins, demo_seed
from tongxin.regions.choices import AreaLevel
from tongxin.regions.models import Area
from tongxin.workorders.choices import Status
from tongxin.workorders.models import DispatchRule, KnowledgeArticle, WorkOrder, WorkOrderEvent

ORDERS = 300
REAL_DISTRICTS = {
    "150602": "东胜区", "150603": "康巴什区", "150621": "达拉特旗", "150622": "准格尔旗", "150623": "鄂托克前旗",
    "150624": "鄂托克旗", "150625": "杭锦旗", "150626": "乌审旗", "150627": "伊金霍洛旗",
}


def _snapshot() -> dict[str, int]:
    return {
        "areas": Area.objects.count(), "users": User.objects.count(), "departments": Department.objects.count(),
        "roles": RoleAssignment.objects.count(), "rules": DispatchRule.objects.count(),
        "knowledge": KnowledgeArticle.objects.count(), "orders": WorkOrder.objects.count(),
        "events": WorkOrderEvent.objects.count(),
    }


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        report = demo_seed(orders=ORDERS)
        yield report
        transaction.set_rollback(True)


@pytest.mark.slow
@pytest.mark.django_db
class TestSeed:
    def test_real_districts_and_towns(self, seeded):
        city = Area.objects.get(code="150600")
        assert city.name == "鄂尔多斯市" and city.level == AreaLevel.CITY and city.boundary
        districts = {a.code: a for a in Area.objects.filter(level=AreaLevel.DISTRICT)}
        assert {code: a.name for code, a in districts.items()} == REAL_DISTRICTS
        assert all(a.boundary and not a.generated and a.parent_id == city.pk for a in districts.values())
        towns = Area.objects.filter(level=AreaLevel.TOWN)
        assert towns.count() == 88
        assert towns.filter(code="150602001", name="交通街道").exists()
        assert towns.filter(code="150627407", name="鄂尔多斯空港物流园区").exists()
        # Town boundaries are generated (none is public) and say so; every town lies in its district.
        for town in towns.select_related("parent"):
            assert town.generated and town.boundary and town.code.startswith(town.parent.code)
            assert shape(town.parent.boundary).buffer(1e-5).contains(shape(town.boundary))

    def test_generated_communities_and_grids(self, seeded):
        towns = Area.objects.filter(level=AreaLevel.TOWN)
        communities = Area.objects.filter(level=AreaLevel.COMMUNITY)
        grids = Area.objects.filter(level=AreaLevel.GRID)
        per_town = Counter(communities.values_list("parent_id", flat=True))
        assert set(per_town) == set(towns.values_list("pk", flat=True))
        assert all(3 <= n <= 6 for n in per_town.values())
        per_community = Counter(grids.values_list("parent_id", flat=True))
        assert set(per_community) == set(communities.values_list("pk", flat=True))
        assert all(2 <= n <= 4 for n in per_community.values())
        assert not communities.filter(generated=False).exists() and not grids.filter(generated=False).exists()
        for grid in grids.select_related("parent")[:200]:
            assert grid.code.startswith(grid.parent.code) and len(grid.code) == 15
            assert shape(grid.parent.boundary).buffer(1e-5).contains(shape(grid.boundary))

    def test_users_for_every_role_and_printed_logins(self, seeded):
        roles = set(RoleAssignment.objects.values_list("role", flat=True))
        assert roles == set(Role.values)
        logins, password = demo_logins()
        names = [row[0] for row in logins]
        assert names == ["operator", "dispatcher", "supervisor", "handler", "grid", "leader", "admin",
                         "dispatcher_dongsheng", "leader_kangbashi", "mediator", "mediator_city"]
        for username in names:
            assert User.objects.get(username=username).check_password(password)
        assert User.objects.get(username="admin").is_superuser
        handler = RoleAssignment.objects.get(user__username="handler")
        assert handler.department.name == "东胜区住房和城乡建设局"
        grid = RoleAssignment.objects.select_related("area").get(user__username="grid")
        assert grid.area.level == AreaLevel.GRID and grid.area.code.startswith("150603")
        assert RoleAssignment.objects.get(user__username="dispatcher_dongsheng").area.code == "150602"
        assert RoleAssignment.objects.get(user__username="leader_kangbashi").area.code == "150603"

    def test_departments_catalogue_and_knowledge(self, seeded):
        assert Department.objects.filter(kind="centre").count() == 1
        assert Department.objects.filter(kind="town").count() == 88
        for name in ("鄂尔多斯市住房和城乡建设局", "鄂尔多斯市城市管理综合执法局", "鄂尔多斯市公安局", "鄂尔多斯市热力公司",
                     "康巴什区住房和城乡建设局", "鄂尔多斯市公安局东胜区分局"):
            assert Department.objects.filter(name=name).exists(), name
        rule = DispatchRule.objects.get(category__name="城乡建设", area__code="150602")
        assert rule.lead_department.code == "150602-ZJ"
        assert [d.code for d in rule.co_departments.all()] == ["150602-CG"]
        assert KnowledgeArticle.objects.count() >= 20

    def test_history_through_the_services(self, seeded):
        assert seeded.history is not None and seeded.history.orders == ORDERS
        assert not seeded.history.rejections  # every step the seed took, the services accepted
        orders = WorkOrder.objects.all()
        assert orders.count() >= ORDERS  # plus the redo orders
        statuses = set(orders.values_list("status", flat=True))
        assert {Status.CLOSED, Status.INVALID, Status.WITHDRAWN}.issubset(statuses)
        assert len(statuses) >= 5
        closed = orders.filter(status=Status.CLOSED)
        assert closed.exclude(satisfaction="").count() == closed.count()
        assert closed.filter(satisfaction="satisfied").count() > closed.count() / 2
        # Every order has its intake event, and the steps were written in time order (by insertion: the
        # timeline sorts by time anyway). The one exception is by design: a duplicate merged into an
        # original writes a note on the original at the duplicate's time.
        for order in orders.prefetch_related("events"):
            events = sorted(order.events.all(), key=lambda e: e.pk)
            assert events[0].action == "accept" and events[0].at == order.accepted_at
            steps = [e.at for e in events if not (e.action == "merge" and e.from_status == e.to_status)]
            assert steps == sorted(steps), order.number
        # A year of history: the oldest orders are months old.
        first = orders.order_by("accepted_at").first()
        assert (seeded_now() - first.accepted_at).days > 300

    def test_every_order_lies_in_its_area(self, seeded):
        shapes: dict[int, object] = {}
        checked = 0
        for order in WorkOrder.objects.exclude(lat__isnull=True).select_related("area"):
            area = shapes.setdefault(order.area_id, shape(order.area.boundary))
            assert area.contains(Point(order.lng, order.lat)), order.number
            assert order.area.level == AreaLevel.GRID
            assert order.area_path == order.area.path
            checked += 1
        assert checked >= ORDERS

    def test_phones_are_demo_numbers(self, seeded):
        phones = set(WorkOrder.objects.exclude(citizen_phone="").values_list("citizen_phone", flat=True))
        assert phones and all(p.startswith("12") and len(p) == 11 for p in phones)

    def test_second_run_adds_nothing(self, seeded):
        before = _snapshot()
        assert demo_is_seeded()
        again = demo_seed(orders=ORDERS)
        assert again.skipped_history and again.history is None
        assert _snapshot() == before


def seeded_now():
    from django.utils import timezone

    return timezone.now()


def test_seed_clock_sets_and_restores_time():
    from datetime import timedelta

    from django.utils import timezone

    real = timezone.now()
    with seed_clock() as clock:
        past = clock.real_now - timedelta(days=100)
        clock.set(past)
        assert timezone.now() == past
        with pytest.raises(ValueError):
            clock.set(clock.real_now + timedelta(minutes=1))
    assert abs((timezone.now() - real).total_seconds()) < 60


@pytest.mark.slow
@pytest.mark.django_db
def test_mediation_demo(seeded):
    from tongxin.mediation.models import DisputeCase, MediationOrg, Mediator
    from tongxin.mediation.selectors import cases_visible_to, mediation_numbers

    assert MediationOrg.objects.filter(kind="city_centre").count() == 1
    assert any("land_grassland" in o.specialities for o in MediationOrg.objects.filter(kind="professional"))
    assert any("mn" in m.languages for m in Mediator.objects.all())
    assert DisputeCase.objects.count() >= 150
    mediator = User.objects.get(username="mediator")
    assert cases_visible_to(mediator).exists()
    targets = {t["key"]: t for t in mediation_numbers(actor=User.objects.get(username="mediator_city"))["targets"]}
    assert all(t["denominator"] > 0 for t in targets.values())
