from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema


class CodeOut(Schema):
    state: Literal["valid", "forged", "replaced", "revoked"]
    kind: Literal["household", "merchant"] | None = None


class LoginCodeIn(Schema):
    token: str = Field(..., max_length=80)
    phone: str = Field(..., max_length=20)


class LoginIn(LoginCodeIn):
    code: str = Field(..., max_length=6)


class LoginOut(Schema):
    kind: Literal["household", "merchant"]
    place: str


class RequestOut(Schema):
    id: int
    number: str
    status: str
    status_label: str
    title: str
    content: str
    category: str | None
    accepted_at: datetime
    reply_text: str
    replied_at: datetime | None
    photos: int
    point_source: str
    can_rate: bool
    satisfaction: str | None


class RatingIn(Schema):
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    cause: str = Field("", max_length=24)
    note: str = Field("", max_length=500)
    reopen: bool = False


class RatingOut(Schema):
    satisfaction: str
    reopened_order_id: int | None


class BoardItemOut(Schema):
    lat: float
    lng: float
    status: str
    status_label: str
    category: str
    accepted_on: str
