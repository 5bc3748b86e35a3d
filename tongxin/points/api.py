"""/api/v1/points/…: the rules, the clerk's priority check, the mall operator's pickup, and a resident's
balances for staff of their area. The same services as the pages; the API's one error shape."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from tongxin.core.errors import NotFound

from . import selectors, services
from .models import Rule
from .schemas import BalancesOut, CheckIn, CheckOut, PickupIn, PickupOut, RuleOut

router = Router(tags=["points"])


@router.get("/points/rules", response=list[RuleOut], summary="Earning and deduction rules")
def rules(request: HttpRequest) -> list[Rule]:
    if not (selectors.is_points_staff(request.user) or selectors.is_committee(request.user)):
        raise NotFound()
    return list(Rule.objects.order_by("code"))


@router.post("/points/checks", response=CheckOut, summary="Priority check: the tier behind a resident's code")
def check(request: HttpRequest, payload: CheckIn) -> dict[str, Any]:
    if not selectors.is_clerk(request.user):
        raise NotFound()
    return services.priority_check(actor=request.user, token=payload.token)


@router.post("/points/pickups", response=PickupOut, summary="Hand over a redeemed item (pickup code)")
def pickup(request: HttpRequest, payload: PickupIn) -> dict[str, Any]:
    redemption = services.redemption_pickup(actor=request.user, pickup_code=payload.pickup_code)
    return {"id": redemption.pk, "item": redemption.item.name, "status": redemption.status}


@router.get("/points/residents/{resident_id}/balances", response=BalancesOut, summary="A resident's balances")
def balances(request: HttpRequest, resident_id: int) -> dict[str, Any]:
    resident = selectors.resident_for_staff(actor=request.user, resident_id=resident_id)
    b = selectors.balances_of(resident)
    tier = selectors.tier_for(b.virtue)
    return {"resident_id": resident.pk, "material": b.material, "virtue": b.virtue, "tier": tier.name if tier else None}
