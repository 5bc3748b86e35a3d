"""Shapes of the points API (/api/v1/points/...). Inputs forbid unknown fields."""

from __future__ import annotations

from ninja import Field, Schema
from pydantic import ConfigDict


class InSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class RuleOut(Schema):
    code: str
    name: str
    kind: str
    amount: int
    approval_threshold: int | None
    active: bool


class CheckIn(InSchema):
    token: str = Field(..., max_length=60, description="The code under the resident's priority QR.")


class CheckOut(Schema):
    tier: str
    privileges: list[str]


class PickupIn(InSchema):
    pickup_code: str = Field(..., max_length=20)


class PickupOut(Schema):
    id: int
    item: str
    status: str


class BalancesOut(Schema):
    resident_id: int
    material: int
    virtue: int
    tier: str | None
