"""The grids API's shapes."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema

from tongxin.workorders.schemas import ERRORS, MAX_ID, ErrorOut  # noqa: F401 - the one error shape, shared


class Located(Schema):
    lat: float | None = Field(None, description="Latitude in the datum named by ``datum``.")
    lng: float | None = None
    datum: str = Field("wgs84", description="wgs84 (browser/GPS), gcj02 (Amap, WeChat) or bd09 (Baidu).")
    accuracy: float | None = Field(None, description="Metres, as the device reported.")


class PatrolStartIn(Located):
    grid_id: int = Field(..., ge=1, le=MAX_ID)


class CheckinIn(Located):
    note: str = Field("", max_length=200)


class PatrolEndIn(Schema):
    note: str = Field("", max_length=500)


class CheckinOut(Schema):
    at: datetime
    lat: float
    lng: float
    accuracy_m: float | None
    datum: str
    inside_grid: bool


class PatrolOut(Schema):
    id: int
    grid_id: int
    grid_name: str
    worker_id: int
    started_at: datetime
    ended_at: datetime | None
    distance_m: float
    note: str
    checkins: list[CheckinOut]


class ReportOut(Schema):
    id: int
    grid_id: int
    status: str
    text: str
    lat: float | None
    lng: float | None
    category_code: str
    created_at: datetime
    result_text: str
    settled_at: datetime | None
    work_order_id: int | None
    work_order_number: str
    photo_url: str | None
    result_photo_url: str | None


class RaiseIn(Schema):
    kind: str = "help"
    category_code: str = Field("", max_length=40)


class OpinionIn(Schema):
    grid_id: int = Field(..., ge=1, le=MAX_ID)
    topic_code: str = Field(..., max_length=40)
    text: str = Field(..., max_length=1000)
    address: str = Field("", max_length=200)


class OpinionOut(Schema):
    id: int
    grid_id: int
    grid_name: str
    topic_code: str
    topic_name: str
    text: str
    address: str
    created_at: datetime


class NumbersOut(Schema):
    area_code: str
    area_name: str
    raised: int
    settled_in_grid: int
    settled_rate: float | None
    patrols: int
    patrol_days: int
    coverage: float | None


class GridOut(Schema):
    id: int
    code: str
    name: str


class OpinionQuery(Schema):
    q: str = Field("", max_length=100)
    topic: str = Field("", max_length=40)
    area_code: str = Field("", max_length=32)
    date_from: date | None = None
    date_to: date | None = None
    limit: int = Field(50, ge=1, le=200)
