"""Plausible generated boundaries: split a real polygon into cells, and pick points inside a cell.

Towns, communities and grids have no public polygons. The demo splits each parent into as many cells as
it has children: sample points evenly inside the parent, group them with a few rounds of k-means, and
cut the parent along the Voronoi diagram of the group centres. The cells tile the parent (no gap, no
overlap; coordinates are snapped to a 1e-6° grid, so an edge may stray by about a metre from the
parent's), so every point of the city falls in one grid, and a child stays inside its parent. Everything is seeded, so the same input gives the
same cells on every run (the seed is idempotent).
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

PRECISION = 1e-6  # about 0.1 m: stored coordinates are snapped to this grid


def stable_seed(*parts: Any) -> int:
    """A seed that depends only on its inputs (``hash()`` of a str changes between processes)."""
    return zlib.crc32("|".join(str(p) for p in parts).encode("utf-8"))


def as_shape(geojson: dict[str, Any]) -> BaseGeometry:
    return shape(geojson)


def as_geojson(geom: BaseGeometry) -> dict[str, Any]:
    data = mapping(geom)
    return {"type": data["type"], "coordinates": _lists(data["coordinates"])}


def _lists(coords: Any) -> Any:
    if isinstance(coords[0], (int, float)):
        return [round(float(coords[0]), 6), round(float(coords[1]), 6)]
    return [_lists(c) for c in coords]


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the areal part of a geometry (an intersection may add stray lines or points)."""
    if geom.is_empty:
        return geom
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts: list[Polygon] = []
    for part in getattr(geom, "geoms", []):
        if isinstance(part, Polygon):
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(part.geoms)
    return MultiPolygon(parts) if parts else Polygon()


def snap(geom: BaseGeometry) -> BaseGeometry:
    """Snap to the storage grid, keeping the result valid and areal."""
    snapped = polygonal(shapely.set_precision(geom, PRECISION))
    if not snapped.is_valid:
        snapped = polygonal(shapely.make_valid(snapped))
    return snapped


def sample_inside(geom: BaseGeometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` points spread uniformly inside ``geom`` (rejection sampling in its bounding box)."""
    min_x, min_y, max_x, max_y = geom.bounds
    shapely.prepare(geom)
    found: list[np.ndarray] = []
    have = 0
    for _ in range(200):
        batch = max(count * 2, 64)
        xs = rng.uniform(min_x, max_x, batch)
        ys = rng.uniform(min_y, max_y, batch)
        inside = shapely.contains_xy(geom, xs, ys)
        if inside.any():
            found.append(np.column_stack([xs[inside], ys[inside]]))
            have += int(inside.sum())
        if have >= count:
            break
    if have < count:  # a sliver: fall back to points on the shape itself
        point = geom.representative_point()
        found.append(np.tile([point.x, point.y], (count - have, 1)))
    return np.concatenate(found)[:count]


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, rounds: int = 12) -> np.ndarray:
    """Group centres, each snapped to the nearest sample so that it lies inside the parent."""
    scale = np.array([np.cos(np.radians(points[:, 1].mean())), 1.0])  # degrees of longitude are shorter
    scaled = points * scale
    centres = scaled[rng.choice(len(scaled), size=k, replace=False)]
    for _ in range(rounds):
        distance = ((scaled[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        nearest = distance.argmin(axis=1)
        for j in range(k):
            members = scaled[nearest == j]
            if len(members):
                centres[j] = members.mean(axis=0)
    distance = ((scaled[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    chosen = distance.argmin(axis=0)
    # Two centres on the same sample would give one empty cell: move the later one to an unused sample.
    used: set[int] = set()
    for j, index in enumerate(chosen):
        if int(index) in used:
            order = np.argsort(distance[:, j])
            index = next(int(i) for i in order if int(i) not in used)
            chosen[j] = index
        used.add(int(index))
    return points[chosen]


def split(geom: BaseGeometry, k: int, *, seed: int, anchors: list[tuple[float, float]] | None = None) -> list[BaseGeometry]:
    """Cut ``geom`` into ``k`` cells (in the order of the returned list; ordered west→east, south→north
    within bands so neighbouring codes sit near each other). ``anchors`` fixes the first centres (e.g. a
    town seat), the rest come from k-means."""
    if k <= 1:
        return [snap(geom)]
    rng = np.random.default_rng(seed)
    samples = sample_inside(geom, max(60 * k, 300), rng)
    fixed = [np.array(a) for a in (anchors or [])][:k]
    centres = _kmeans(samples, k, rng) if len(fixed) < k else np.empty((0, 2))
    if fixed:
        # Replace the k-means centres nearest to the anchors by the anchors themselves.
        free = list(centres)
        for anchor in fixed:
            if free:
                nearest = int(np.argmin([((c - anchor) ** 2).sum() for c in free]))
                free.pop(nearest)
        centres = np.array(fixed + free) if free else np.array(fixed)
    cells = shapely.voronoi_polygons(
        MultiPoint([tuple(c) for c in centres]), extend_to=geom.envelope.buffer(1.0), ordered=True
    )
    pieces = [snap(cell.intersection(geom)) for cell in cells.geoms]
    if fixed:
        return pieces  # the anchored cells first, in the anchors' order
    # A reading order for the codes: bands of latitude from north to south, west to east in a band.
    keyed = sorted(zip(centres.tolist(), pieces, strict=True), key=lambda cp: (-round(cp[0][1], 2), cp[0][0]))
    return [piece for _centre, piece in keyed]


def ellipse(lng: float, lat: float, radius_deg: float) -> BaseGeometry:
    """A circle of ``radius_deg`` degrees of latitude around the point, stretched in longitude so that it
    is round on the ground."""
    circle = Point(lng, lat).buffer(radius_deg, quad_segs=16)
    return affinity.scale(circle, xfact=1.0 / np.cos(np.radians(lat)), yfact=1.0)


def random_points(geom: BaseGeometry, count: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Points inside ``geom`` rounded to 6 decimals, each checked again after rounding."""
    shapely.prepare(geom)
    out: list[tuple[float, float]] = []
    while len(out) < count:
        for x, y in sample_inside(geom, count - len(out), rng):
            lng, lat = round(float(x), 6), round(float(y), 6)
            if shapely.contains_xy(geom, lng, lat):
                out.append((lng, lat))
    return out
