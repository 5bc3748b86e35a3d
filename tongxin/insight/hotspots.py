"""Hotspots and early warning (未诉先办): clusters of similar requests in space and time.

On the platform: two recent requests are linked when they are *similar* (the same category; without a
category, text cosine ≥ ``text_min``) and *near* (within ``radius_m`` metres, or in the same grid when a
point is missing). Linked requests form clusters (connected components); a cluster of at least
``min_size`` requests within ``days`` days is an early-warning item for the leaders of its area, listed
with the requests behind it. Points are bucketed in cells of about ``radius_m`` so that only requests in
neighbouring cells are compared.

Without places or categories (the contest's hot-topic task, messages_with_votes.csv), ``text_topics``
clusters by text alone: TF-IDF of character 2–4-grams of subject + the body's first 200 characters
(the idf learnt on the same messages, so "A市", "小区", "请问" weigh little), linked at cosine ≥
``threshold``, then ranked by heat = messages + ½·log2(1 + likes): the number of people who wrote counts most, and
support (likes) adds on a log scale, so one much-liked message does not outrank a real wave of them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.utils.translation import gettext as _

from tongxin.core.datums import haversine_m

from .duplicates import text_similarities
from .textfeatures import char_ngram_counts, dedupe_key, document_frequency, smooth_idf


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.parent)):
            out[self.find(i)].append(i)
        return list(out.values())


@dataclass
class Point:
    """A request as the clustering sees it."""

    id: int
    at: datetime
    text: str = ""
    lat: float | None = None
    lng: float | None = None
    category_id: int | None = None
    grid_id: int | None = None


def cluster_points(points: Sequence[Point], *, radius_m: float = 500.0, min_size: int = 3,
                   text_min: float = 0.5) -> list[list[int]]:
    """Clusters (indexes into ``points``) of at least ``min_size`` similar requests near each other."""
    uf = _UnionFind(len(points))

    def similar(a: Point, b: Point) -> bool:
        if a.category_id is not None and b.category_id is not None:
            return a.category_id == b.category_id
        return bool(text_similarities(a.text, [b.text])[0] >= text_min)

    # Located requests: compare only within neighbouring cells of ~radius (1° latitude ≈ 111 km).
    cell_lat = radius_m / 111_000
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, p in enumerate(points):
        if p.lat is not None and p.lng is not None:
            cell_lng = cell_lat / max(0.1, math.cos(math.radians(p.lat)))
            cells[(int(p.lat // cell_lat), int(p.lng // cell_lng))].append(i)
    for (cy, cx), members in cells.items():
        neighbours = [j for dy in (-1, 0, 1) for dx in (-1, 0, 1) for j in cells.get((cy + dy, cx + dx), ())]
        for i in members:
            for j in neighbours:
                if j <= i:
                    continue
                a, b = points[i], points[j]
                if haversine_m(a.lat, a.lng, b.lat, b.lng) <= radius_m and similar(a, b):  # type: ignore[arg-type]
                    uf.union(i, j)
    # Requests without a point: the same grid is "near".
    by_grid: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(points):
        if p.grid_id is not None:
            by_grid[p.grid_id].append(i)
    for members in by_grid.values():
        unlocated = [i for i in members if points[i].lat is None]
        for i in unlocated:
            for j in members:
                if j != i and similar(points[i], points[j]):
                    uf.union(i, j)
    return sorted((g for g in uf.groups() if len(g) >= min_size), key=len, reverse=True)


# --- on the platform ------------------------------------------------------------------------------

def hotspot_list(*, actor: Any, area_code: str | None = None, days: int = 7, radius_m: float = 500.0,
                 min_size: int = 3, now: datetime | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Early-warning items: clusters of similar requests the actor may see, accepted in the last
    ``days`` days (invalid requests and police transfers left out), largest first."""
    from django.utils import timezone

    from tongxin.core.errors import ValidationFailed
    from tongxin.regions.selectors import area_get_by_code
    from tongxin.workorders.choices import Status
    from tongxin.workorders.selectors import work_orders_visible_to

    from .hotwords import hot_words

    now = now or timezone.now()
    qs = (work_orders_visible_to(actor).exclude(status__in=[Status.INVALID, Status.TRANSFERRED])
          .filter(accepted_at__gte=now - timedelta(days=days), accepted_at__lte=now))
    if area_code:
        area = area_get_by_code(area_code)
        if area is None:
            raise ValidationFailed(fields={"area_code": _("区域代码 %(area_code)s 不存在") % {"area_code": area_code}})
        qs = qs.filter(area_path__startswith=area.path)
    orders = list(qs.select_related("category", "area").only(
        "id", "number", "title", "content", "accepted_at", "lat", "lng", "category_id", "category__name", "area_id",
        "area__name", "area__code", "status", "address")[:20000])
    points = [Point(id=o.pk, at=o.accepted_at, text=f"{o.title} {o.content}", lat=o.lat, lng=o.lng,
                    category_id=o.category_id, grid_id=o.area_id) for o in orders]
    items = []
    for group in cluster_points(points, radius_m=radius_m, min_size=min_size)[:limit]:
        members = sorted((orders[i] for i in group), key=lambda o: o.accepted_at)
        located = [(o.lat, o.lng) for o in members if o.lat is not None and o.lng is not None]
        areas = Counter((o.area.code, o.area.name) for o in members)
        (area_code_, area_name), _n = areas.most_common(1)[0]
        category = members[0].category
        items.append({
            "count": len(members),
            "category": {"id": category.pk, "name": category.name} if category else None,
            "area": {"code": area_code_, "name": area_name},
            "center": ({"lat": round(sum(lat for lat, _lng in located) / len(located), 6),
                        "lng": round(sum(lng for _lat, lng in located) / len(located), 6)} if located else None),
            "first_at": members[0].accepted_at, "last_at": members[-1].accepted_at,
            "words": [w.word for w in hot_words([f"{o.title} {o.content}" for o in members], top=5, min_count=2)],
            "orders": [{"id": o.pk, "number": o.number, "status": o.status, "accepted_at": o.accepted_at,
                        "address": o.address} for o in members],
        })
    return items


# --- text only: the contest's hot-topic task --------------------------------------------------------

@dataclass
class Message:
    id: str
    subject: str
    body: str
    at: datetime | None
    likes: int = 0
    dislikes: int = 0


@dataclass
class Topic:
    messages: list[Message]
    representative: Message
    heat: float
    likes: int
    dislikes: int
    words: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.messages)


def _tfidf_rows(texts: Sequence[str]) -> sp.csr_matrix:
    counts = char_ngram_counts([dedupe_key(t) for t in texts], ngram=(2, 4), n_features=2**21)
    idf = smooth_idf(document_frequency(counts), len(texts))
    counts = counts.tocsr()
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ counts)


def text_topics(messages: Sequence[Message], *, threshold: float = 0.35, window: timedelta = timedelta(days=120),
                min_size: int = 2, body_chars: int = 200) -> list[Topic]:
    """Topics (clusters of messages about the same thing) ranked by heat."""
    from .hotwords import hot_words

    texts = [f"{m.subject} {m.body[:body_chars]}" for m in messages]
    rows = _tfidf_rows(texts)
    similarity = (rows @ rows.T).tocoo()
    uf = _UnionFind(len(messages))
    for i, j, value in zip(similarity.row, similarity.col, similarity.data, strict=True):
        if i < j and value >= threshold:
            a, b = messages[i].at, messages[j].at
            if a is None or b is None or abs(a - b) <= window:
                uf.union(int(i), int(j))
    from .hotwords import document_counts

    corpus = document_counts(texts)  # the baseline of each topic's words: all the messages
    topics = []
    for group in uf.groups():
        if len(group) < min_size:
            continue
        members = [messages[i] for i in group]
        centre = np.asarray(rows[group].mean(axis=0)).ravel()
        closest = group[int(np.argmax(rows[group] @ centre))]
        likes = sum(m.likes for m in members)
        topics.append(Topic(messages=members, representative=messages[closest], heat=round(len(members) + 0.5 * math.log2(1 + likes), 2),
                            likes=likes, dislikes=sum(m.dislikes for m in members),
                            words=[w.word for w in hot_words([texts[i] for i in group], corpus, top=6, min_count=2)]))
    topics.sort(key=lambda t: (-t.heat, -t.count))
    return topics
