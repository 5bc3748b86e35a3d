"""GeoJSON geometry helpers: datum conversion of whole geometries, bounding boxes, representative points."""

from __future__ import annotations

from typing import Any

from shapely.geometry import mapping, shape

from tongxin.core.datums import Datum, to_wgs84


def _convert_coords(coords: Any, datum: Datum) -> Any:
    if isinstance(coords[0], (int, float)):
        lng, lat = to_wgs84(float(coords[0]), float(coords[1]), datum)
        return [round(lng, 7), round(lat, 7)]
    return [_convert_coords(c, datum) for c in coords]


def geometry_to_wgs84(geometry: dict[str, Any], datum: Datum | str) -> dict[str, Any]:
    """Convert a GeoJSON Polygon or MultiPolygon from ``datum`` to WGS-84 (7 decimals, about 1 cm)."""
    datum = Datum(datum)
    if geometry.get("type") not in {"Polygon", "MultiPolygon"}:
        raise ValueError(f"unsupported geometry type {geometry.get('type')!r}")
    if datum is Datum.WGS84:
        return {"type": geometry["type"], "coordinates": geometry["coordinates"]}
    return {"type": geometry["type"], "coordinates": _convert_coords(geometry["coordinates"], datum)}


def geometry_summary(geometry: dict[str, Any]) -> dict[str, float]:
    """Bounding box and a point guaranteed to lie inside the shape (for labels and map centres)."""
    geom = shape(geometry)
    min_lng, min_lat, max_lng, max_lat = geom.bounds
    point = geom.representative_point()
    return {
        "min_lng": min_lng, "min_lat": min_lat, "max_lng": max_lng, "max_lat": max_lat,
        "center_lng": round(point.x, 7), "center_lat": round(point.y, 7),
    }


def simplify(geometry: dict[str, Any], tolerance: float) -> dict[str, Any]:
    return dict(mapping(shape(geometry).simplify(tolerance, preserve_topology=True)))
