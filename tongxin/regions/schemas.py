"""Response shapes of the area API (/api/v1/areas)."""

from __future__ import annotations

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
