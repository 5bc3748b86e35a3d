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
    id: int  # the request's (report's) id, from the first answer on; not the order's
    receipt: str  # 回执号, given at once
    number: str | None  # the order's number (受理编号), None until the order is made
    status: str  # the order's status, or "received" (已收到) while the receipt waits for its order
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
    reopened_request_id: int | None  # the new request on the household's list, when reopened


class BoardItemOut(Schema):
    lat: float
    lng: float
    status: str
    status_label: str
    category: str
    accepted_on: str
