"""The points mall: redemption, pickup, cancellation, scoping."""

from __future__ import annotations

import pytest

from tongxin.core.errors import Conflict, NotFound, ValidationFailed
from tongxin.points import services
from tongxin.points.choices import RedemptionStatus
from tongxin.points.models import Account, Entry, Item
from tongxin.points.selectors import balances_of, ledger_verify

pytestmark = pytest.mark.django_db


def earn(resident, n: int) -> None:
    for i in range(n):
        services.points_earn(resident=resident, rule_code="report_confirmed", cause_key=f"report:{resident.pk}:{i}")


def make_item(town, *, price=10, stock=2, area=None):
    return services.item_create(actor=town.supervisor_a, area=area or town.world.community_a,
                                name="洗衣液", price=price, stock=stock, pickup_place="社区服务站")


def test_redeem_pickup(town):
    earn(town.resident, 3)  # 15 material
    item = make_item(town)
    redemption = services.redemption_create(resident=town.resident, item_id=item.pk)
    assert len(redemption.pickup_code) == 8 and redemption.status == RedemptionStatus.PENDING
    assert balances_of(town.resident).material == 5
    assert Item.objects.get(pk=item.pk).stock == 1
    with pytest.raises(NotFound):  # a district-B leader cannot hand over a district-A item
        services.redemption_pickup(actor=town.world.user("leader_b"), pickup_code=redemption.pickup_code)
    typed = redemption.pickup_code.lower()[:4] + "-" + redemption.pickup_code.lower()[4:]
    done = services.redemption_pickup(actor=town.supervisor_a, pickup_code=typed)
    assert done.status == RedemptionStatus.PICKED_UP
    with pytest.raises(Conflict):
        services.redemption_pickup(actor=town.supervisor_a, pickup_code=redemption.pickup_code)
    with pytest.raises(Conflict):
        services.redemption_cancel(resident=town.resident, redemption_id=redemption.pk)


def test_pickup_code_is_validated(town):
    with pytest.raises(ValidationFailed) as error:
        services.redemption_pickup(actor=town.supervisor_a, pickup_code="123")
    assert "pickup_code" in error.value.fields


def test_not_enough_points_changes_nothing(town):
    earn(town.resident, 1)  # 5
    item = make_item(town)
    with pytest.raises(ValidationFailed) as error:
        services.redemption_create(resident=town.resident, item_id=item.pk)
    assert "amount" in error.value.fields
    assert Item.objects.get(pk=item.pk).stock == 2  # the stock decrement rolled back with it
    assert balances_of(town.resident).material == 5


def test_sold_out(town):
    earn(town.resident, 10)
    item = make_item(town, stock=1)
    services.redemption_create(resident=town.resident, item_id=item.pk)
    with pytest.raises(ValidationFailed) as error:
        services.redemption_create(resident=town.resident, item_id=item.pk)
    assert "item_id" in error.value.fields
    assert balances_of(town.resident).material == 40


def test_item_of_another_area_is_404(town):
    earn(town.far_resident, 10)
    item = make_item(town)
    with pytest.raises(NotFound):
        services.redemption_create(resident=town.far_resident, item_id=item.pk)


def test_cancel_refunds_and_restocks(town):
    earn(town.resident, 2)
    item = make_item(town)
    redemption = services.redemption_create(resident=town.resident, item_id=item.pk)
    with pytest.raises(NotFound):
        services.redemption_cancel(resident=town.neighbour, redemption_id=redemption.pk)
    cancelled = services.redemption_cancel(resident=town.resident, redemption_id=redemption.pk)
    assert cancelled.status == RedemptionStatus.CANCELLED
    assert cancelled.refund_entry.reverses_id == redemption.entry_id and cancelled.refund_entry.amount == 10
    assert balances_of(town.resident).material == 10 and Item.objects.get(pk=item.pk).stock == 2
    with pytest.raises(Conflict):
        services.redemption_cancel(resident=town.resident, redemption_id=redemption.pk)
    with pytest.raises(Conflict):  # the refund is the reversal: no second one
        services.entry_reverse(entry=Entry.objects.get(pk=redemption.entry_id), actor=None, reason="x")
    with pytest.raises(NotFound):
        services.redemption_pickup(actor=town.supervisor_a, pickup_code="ZZZZZZZZ")
    assert ledger_verify() == (Account.objects.count(), [])


def test_item_validation_names_fields(town):
    with pytest.raises(ValidationFailed) as error:
        services.item_create(actor=town.supervisor_a, area=town.world.community_a, name="x",
                             price="abc", stock=-1)
    assert set(error.value.fields) == {"price", "stock"}
    with pytest.raises(NotFound):
        services.item_create(actor=town.world.user("leader_b"), area=town.world.community_a, name="x", price=1, stock=1)
