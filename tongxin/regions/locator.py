"""Point → area lookup: an adaptive cell index built once per process, answering in microseconds.

Only the leaves of the tree (the grids, and areas whose children have no boundary) are in the cells;
a point in no leaf falls back to the exact test on the inner areas (see :func:`build_locator`).

Why not ``STRtree.query`` per point: every shapely call from Python costs 5–15 µs of overhead (a tree
query plus a ``contains`` test per nested candidate: city, district, town, community, grid), which caps a
single lookup near 20,000 per second. Here the bounding box of every boundary is cut into cells (64 × 64,
and crowded cells again into 4 × 4, up to five times); for each cell we remember

- the deepest area that covers the whole cell (nothing to test for a point there), and
- the deeper areas that only cross it, each *clipped to the cell*, so a point needs an even-odd ray test
  on a few dozen vertices in plain Python (about a microsecond) instead of a call into GEOS.

A point inside a cell is inside an area exactly when it is inside the area clipped to that cell, so the
answer is the same as the exact test on the whole boundary (points on a boundary line, where the exact
test is itself undecided, may go to either side).

The batch lookup (:meth:`Locator.locate_many`) uses shapely 2's array API instead: one tree query for
all points, then one vectorised ``contains_xy`` on the candidate pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

TOP_CELLS = 64  # the root grid is TOP_CELLS × TOP_CELLS
SUB_CELLS = 4  # a crowded cell is split SUB_CELLS × SUB_CELLS
MAX_LEVEL = 5  # at most this many splits below the root (64 · 4⁵ = 65,536 cells a side at the finest)
MAX_PARTIALS = 4  # a leaf cell tests at most this many crossing areas …
MAX_VERTICES = 24  # … with at most this many vertices between them (unless MAX_LEVEL is reached)

Rings = tuple[tuple[float, ...], ...]  # each ring flattened: (x0, y0, x1, y1, …), closed
Leaf = tuple[int, tuple[tuple[int, Rings], ...]]  # (covering area's key or 0, crossing areas' keys deepest first)


@dataclass
class _Node:
    x0: float
    y0: float
    inv_dx: float
    inv_dy: float
    n: int
    cells: list[Any]  # int (primary key of the covering area, 0 for none) | Leaf | _Node


@dataclass
class AreaInfo:
    pk: int
    code: str
    name: str
    level: str
    path: str
    depth: int


@dataclass
class Locator:
    """The index over every area with a boundary, plus the code, name and path of every area (for
    :func:`tongxin.regions.selectors.area_locate_path`)."""

    pks: list[int]  # area index → primary key
    depths: list[int]
    geoms: list[BaseGeometry]
    root: _Node | None
    bounds: tuple[float, float, float, float]
    areas: dict[int, AreaInfo] = field(default_factory=dict)
    tree: shapely.STRtree | None = None
    inner: list[tuple[int, int, BaseGeometry]] = field(default_factory=list)  # (pk, depth, prepared geometry)
    inner_tree: shapely.STRtree | None = None
    cell_count: int = 0
    built_seconds: float = 0.0  # wall clock
    built_cpu_seconds: float = 0.0  # CPU time of this process

    def locate(self, x: float, y: float) -> int | None:
        """The primary key of the deepest area containing (x, y), or None. The hot path (a point in a
        leaf) is plain Python, no call into GEOS; cells hold primary keys directly (0 for none)."""
        node = self.root
        if node is None:
            return self._locate_inner(x, y)
        x0, y0, x1, y1 = self.bounds
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return self._locate_inner(x, y)
        while True:
            n = node.n
            i = int((x - node.x0) * node.inv_dx)
            j = int((y - node.y0) * node.inv_dy)
            # The far edge of the box belongs to the last cell.
            if i >= n:
                i = n - 1
            if j >= n:
                j = n - 1
            entry = node.cells[j * n + i]
            if type(entry) is int:
                return entry or self._locate_inner(x, y)
            if type(entry) is _Node:
                node = entry
                continue
            cover, partials = entry
            for pk, rings in partials:
                if _inside(rings, x, y):
                    return pk
            return cover or self._locate_inner(x, y)

    def _locate_inner(self, x: float, y: float) -> int | None:
        """No leaf contains the point: the deepest inner area that does (exact test, tens of µs)."""
        if self.inner_tree is None:
            return None
        point = shapely.Point(x, y)
        best: tuple[int, int] | None = None
        for index in self.inner_tree.query(point).tolist():
            pk, depth, geom = self.inner[index]
            if (best is None or depth > best[1]) and geom.contains(point):
                best = (pk, depth)
        return best[0] if best else None

    def locate_many(self, xs: Any, ys: Any) -> list[int | None]:
        """Vectorised: one STRtree query over every point, one ``contains_xy`` over the candidate pairs,
        then the deepest hit per point."""
        xs = np.asarray(xs, dtype=float)
        ys = np.asarray(ys, dtype=float)
        result: list[int | None] = [None] * len(xs)
        if self.tree is None or not len(xs):
            return result
        points = shapely.points(xs, ys)
        point_idx, area_idx = self.tree.query(points)
        if not len(point_idx):
            return result
        geoms = np.asarray(self.geoms, dtype=object)
        hit = shapely.contains_xy(geoms[area_idx], xs[point_idx], ys[point_idx])
        point_idx, area_idx = point_idx[hit], area_idx[hit]
        depths = np.asarray(self.depths)[area_idx]
        # Sort by point, then deepest first: the first row of each point is its answer.
        order = np.lexsort((-depths, point_idx))
        point_idx, area_idx = point_idx[order], area_idx[order]
        first = np.ones(len(point_idx), dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        pks = self.pks
        for p, a in zip(point_idx[first].tolist(), area_idx[first].tolist(), strict=True):
            result[p] = pks[a]
        return result


def _inside(rings: Rings, x: float, y: float) -> bool:
    """Even-odd ray casting over every ring (exteriors and holes alike)."""
    inside = False
    for ring in rings:
        xj, yj = ring[-2], ring[-1]
        for k in range(0, len(ring), 2):
            xi, yi = ring[k], ring[k + 1]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            xj, yj = xi, yi
    return inside


def _rings(piece: BaseGeometry) -> tuple[Rings, int]:
    """The polygonal part of a clipped piece as flattened rings, and its vertex count."""
    rings: list[tuple[float, ...]] = []
    count = 0
    for part in shapely.get_parts(piece).tolist():
        kind = part.geom_type
        if kind in ("MultiPolygon", "GeometryCollection"):
            sub, sub_count = _rings(part)
            rings.extend(sub)
            count += sub_count
        elif kind == "Polygon" and not part.is_empty:  # skip lines and points where the area only touches
            for ring in shapely.get_rings(part).tolist():
                coords = shapely.get_coordinates(ring)[:-1]  # the closing vertex repeats the first
                rings.append(tuple(coords.ravel().tolist()))
                count += len(coords)
    return tuple(rings), count


class _Builder:
    """Builds the cell tree. A crowded cell is split with the pieces already clipped to it, so deeper
    levels work on a handful of vertices, never on a whole district boundary again."""

    def __init__(self, depths: list[int], pks: list[int]):
        self.pks = pks
        self.depths = depths
        self.cells = 0

    def node(self, x0: float, y0: float, x1: float, y1: float, cover: int,
             candidates: list[tuple[int, BaseGeometry]], level: int) -> _Node:
        n = TOP_CELLS if level == 0 else SUB_CELLS
        dx, dy = (x1 - x0) / n, (y1 - y0) / n
        self.cells += n * n
        covers = [cover] * (n * n)
        partials: list[list[tuple[int, BaseGeometry]]] = [[] for _ in range(n * n)]
        bboxes = shapely.bounds(np.asarray([g for _, g in candidates], dtype=object)).tolist()
        # Shallow first, so a deeper covering area replaces a shallower one.
        order = sorted(range(len(candidates)), key=lambda k: self.depths[candidates[k][0]])
        for k in order:
            a, geom = candidates[k]
            bx0, by0, bx1, by1 = bboxes[k]
            i0, i1 = max(0, int((bx0 - x0) / dx)), min(n - 1, int((bx1 - x0) / dx))
            j0, j1 = max(0, int((by0 - y0) / dy)), min(n - 1, int((by1 - y0) / dy))
            if i0 > i1 or j0 > j1:
                continue
            grid_i, grid_j = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1))
            ii, jj = grid_i.ravel(), grid_j.ravel()
            boxes = shapely.box(x0 + ii * dx, y0 + jj * dy, x0 + (ii + 1) * dx, y0 + (jj + 1) * dy)
            crossing = shapely.intersects(geom, boxes)
            # covers, not contains_properly: a cell whose edge runs along the boundary (nested areas share
            # theirs) is still wholly the area's; only points on that line could differ from the exact test.
            inside = shapely.covers(geom, boxes)
            depth = self.depths[a]
            column: int
            row: int
            for column, row, c, p in zip(ii.tolist(), jj.tolist(), crossing.tolist(), inside.tolist(), strict=True):
                at = row * n + column
                if p:
                    current = covers[at]
                    if current < 0 or self.depths[current] <= depth:
                        covers[at] = a
                elif c:
                    partials[at].append((a, geom))
        cells: list[Any] = []
        for cell in range(n * n):
            cover_k = covers[cell]
            floor = self.depths[cover_k] if cover_k >= 0 else -1
            crossing_k = [(a, g) for a, g in partials[cell] if self.depths[a] > floor]
            cover_pk = self.pks[cover_k] if cover_k >= 0 else 0
            if not crossing_k:
                cells.append(cover_pk)
                continue
            i, j = cell % n, cell // n
            cx0, cy0 = x0 + i * dx, y0 + j * dy
            clipped: list[tuple[int, BaseGeometry, Rings]] = []
            vertices = 0
            for a, geom in crossing_k:
                # clip_by_rect is GEOS's fast rectangle clip: an invalid result is fine for ray casting.
                piece = shapely.clip_by_rect(geom, cx0, cy0, cx0 + dx, cy0 + dy)
                rings, count = _rings(piece)
                if rings:
                    clipped.append((a, piece, rings))
                    vertices += count
            if not clipped:
                cells.append(cover_pk)
            elif level < MAX_LEVEL and (len(clipped) > MAX_PARTIALS or vertices > MAX_VERTICES):
                cells.append(self.node(cx0, cy0, cx0 + dx, cy0 + dy, cover_k,
                                       [(a, piece) for a, piece, _ in clipped], level + 1))
            else:
                clipped.sort(key=lambda item: -self.depths[item[0]])
                cells.append((cover_pk, tuple((self.pks[a], rings) for a, _, rings in clipped)))
        return _Node(x0=x0, y0=y0, inv_dx=1.0 / dx, inv_dy=1.0 / dy, n=n, cells=cells)


def build_locator(rows: list[tuple[int, str, Any]], areas: dict[int, AreaInfo] | None = None) -> Locator:
    """Index ``rows`` of (primary key, materialised path, GeoJSON geometry in WGS-84).

    Only the *leaves* (areas none of whose descendants has a boundary — in practice the grids) go into
    the cell index: they do not nest, so a cell is crossed by two or three of them, not by five levels
    sharing the same edge. A point in no leaf (a gap between grids, an area whose children have no
    boundary yet, or outside everything) falls back to the exact test on the inner areas."""
    import time

    started, started_cpu = time.perf_counter(), time.process_time()
    parsed: list[tuple[int, list[int], BaseGeometry]] = []
    for pk, path, boundary in rows:
        if not boundary:
            continue
        geom = shape(boundary)
        if geom.is_empty:
            continue
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        shapely.prepare(geom)
        parsed.append((pk, [int(part) for part in path.strip("/").split("/") if part] or [pk], geom))
    inner_pks = {ancestor for _pk, chain, _geom in parsed for ancestor in chain[:-1]}
    pks = [pk for pk, _chain, _geom in parsed]
    depths = [len(chain) - 1 for _pk, chain, _geom in parsed]
    geoms = [geom for _pk, _chain, geom in parsed]
    leaves = [k for k, pk in enumerate(pks) if pk not in inner_pks]
    inner = [k for k, pk in enumerate(pks) if pk in inner_pks]
    locator = Locator(pks=pks, depths=depths, geoms=geoms, root=None, bounds=(0.0, 0.0, 0.0, 0.0),
                      areas=areas or {}, tree=shapely.STRtree(geoms) if geoms else None,
                      inner=[(pks[k], depths[k], geoms[k]) for k in inner])
    if inner:
        locator.inner_tree = shapely.STRtree([geoms[k] for k in inner])
    if leaves:
        total = shapely.total_bounds(np.asarray([geoms[k] for k in leaves], dtype=object))
        x0, y0, x1, y1 = (float(v) for v in total)
        # A degenerate box (one vertical line) would divide by zero.
        x1, y1 = max(x1, x0 + 1e-9), max(y1, y0 + 1e-9)
        builder = _Builder(depths, pks)
        locator.root = builder.node(x0, y0, x1, y1, -1, [(k, geoms[k]) for k in leaves], 0)
        locator.bounds = (x0, y0, x1, y1)
        locator.cell_count = builder.cells
    locator.built_seconds = round(time.perf_counter() - started, 3)
    locator.built_cpu_seconds = round(time.process_time() - started_cpu, 3)
    return locator
