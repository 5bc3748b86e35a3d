"""Response shapes of the area API (/api/v1/areas)."""

from __future__ import annotations

from datetime import date
from typing import Any

from ninja import Field, Schema

from .choices import AreaLevel


class AreaBrief(Schema):
    code: str
    name: str
    level: AreaLevel


class AreaOut(Schema):
    code: str = Field(..., description="Official code (GB/T 2260, 统计用区划代码) where one exists, else generated.")
    name: str
    level: AreaLevel
    level_label: str
    parent_code: str | None
    depth: int = Field(..., description="0 for the city.")
    center_lng: float | None = Field(..., description="A representative point inside the area (WGS-84).")
    center_lat: float | None
    bbox: list[float] | None = Field(..., description="[min_lng, min_lat, max_lng, max_lat], WGS-84.")
    has_children: bool
    generated: bool = Field(..., description="Generated demo data, not an official area or boundary.")
    boundary: dict[str, Any] | None = Field(None, description="GeoJSON geometry (WGS-84); only with ?boundary=1.")


class AreaDetail(AreaOut):
    ancestors: list[AreaBrief] = Field(..., description="From the city down to the parent.")


class LocateOut(Schema):
    lng: float = Field(..., description="The point in WGS-84 (converted from the crs given).")
    lat: float
    area: AreaBrief = Field(..., description="The deepest area containing the point.")
    path: list[AreaBrief] = Field(..., description="From the city down to that area.")


class GridMemberOut(Schema):
    id: int
    grid_code: str
    grid_name: str
    name: str
    phone: str = Field(..., description="Masked (138****5678); the full number only via …/reveal-phone, audited.")
    duty: str = Field(..., description="leader (网格长) | officer (网格警) | full_time (专职) | part_time (兼职)")
    duty_label: str
    username: str | None = Field(None, description="The staff account of the member, when linked.")
    active: bool
    since: date
    until: date | None


class GridMemberIn(Schema):
    name: str = Field(..., max_length=60)
    phone: str = Field(..., max_length=20)
    duty: str = Field(..., max_length=12)
    username: str | None = Field(None, max_length=150, description="Link to this staff account.")
    since: date | None = None


class GridMemberPatch(Schema):
    name: str | None = Field(None, max_length=60)
    phone: str | None = Field(None, max_length=20)
    duty: str | None = Field(None, max_length=12)
    username: str | None = Field(None, max_length=150, description='"" unlinks the account.')
    since: date | None = None
    until: date | None = None


class GridMemberRemoveIn(Schema):
    until: date | None = None
    reason: str = Field("", max_length=200)


class PhoneOut(Schema):
    phone: str


class GridServedOut(Schema):
    code: str
    name: str
    duties: list[str]
