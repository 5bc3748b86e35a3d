"""Duplicate candidates (并单): open requests that are probably about the same thing as this one.

Signals, each shown to the dispatcher as a reason:

- the same caller (phone number), within the time window;
- the same place: the great-circle (haversine) distance between the two points, or the same grid when
  a point is missing;
- similar text: cosine of character 2–3-gram counts of the normalised title + content;
- the same category.

The score is the probability of a logistic model over those signals (text similarity, closeness
1 − d/R, within R, same caller, same category, time gap in units of 72 h). Its weights were fitted on the
tuning half of the labelled set described in docs/insight.md (tongxin/insight/evaluation.py) and are
measured on the other half; they are plain numbers in ``DuplicateParams``, to be refitted when real
merge decisions of the platform are available. A point that is missing counts as "same place" only when
both requests lie in the same grid, and as half-known otherwise. The ranking is a pure function of
plain records, so the benchmark runs it without a database; ``duplicate_candidates`` feeds it from the
actor's jurisdiction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.utils.translation import gettext as _

from tongxin.core.datums import haversine_m

from .textfeatures import char_ngram_counts, dedupe_key


@dataclass(frozen=True)
class DuplicateParams:
    window: timedelta = timedelta(days=7)
    radius_m: float = 300.0
    # Logistic weights (fitted on the tuning half of the labelled set, rounded).
    bias: float = -11.0
    w_text: float = 5.0
    w_closeness: float = 2.8
    w_within: float = 5.2
    w_caller: float = 2.7
    w_category: float = 4.3
    w_gap: float = -3.5  # per 72 hours apart
    min_score: float = 0.5
    text_reason: float = 0.3  # similarity from which "内容相似" is shown as a reason
    limit: int = 10


@dataclass
class Request:
    """What the ranking needs of an order."""

    id: int
    text: str
    at: datetime
    phone: str = ""
    lat: float | None = None
    lng: float | None = None
    category_id: int | None = None
    grid_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Candidate:
    request: Request
    score: float
    reasons: list[str]
    text_similarity: float
    distance_m: float | None
    same_caller: bool
    same_category: bool


def _vectors(texts: Sequence[str]) -> sp.csr_matrix:
    counts = char_ngram_counts([dedupe_key(t)[:500] for t in texts], ngram=(2, 3), n_features=2**20)
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ counts)


def text_similarities(text: str, others: Sequence[str]) -> np.ndarray:
    """Cosine similarity of ``text`` with each of ``others`` (character 2–3-grams, 0..1)."""
    if not others:
        return np.zeros(0)
    matrix = _vectors([text, *others])
    return np.asarray((matrix[1:] @ matrix[0].T).todense()).ravel()


def rank_duplicates(target: Request, pool: Sequence[Request], params: DuplicateParams = DuplicateParams()) -> list[Candidate]:
    """Candidates from ``pool`` for ``target``, best first, each with its reasons (Chinese)."""
    inside = [r for r in pool if r.id != target.id and abs(r.at - target.at) <= params.window]
    similarities = text_similarities(target.text, [r.text for r in inside])
    out: list[Candidate] = []
    for request, similarity in zip(inside, similarities, strict=True):
        same_caller = bool(target.phone) and target.phone == request.phone
        distance = None
        if None not in (target.lat, target.lng, request.lat, request.lng):
            distance = haversine_m(target.lat, target.lng, request.lat, request.lng)  # type: ignore[arg-type]
            closeness, within = max(0.0, 1.0 - distance / params.radius_m), float(distance <= params.radius_m)
        elif target.grid_id is not None and target.grid_id == request.grid_id:
            closeness, within = 0.5, 1.0
        else:
            closeness, within = 0.35, 0.5  # unknown: neither near nor far
        same_category = target.category_id is not None and target.category_id == request.category_id
        similarity = float(similarity)
        hours = abs(request.at - target.at).total_seconds() / 3600
        z = (params.bias + params.w_text * similarity + params.w_closeness * closeness + params.w_within * within
             + params.w_caller * same_caller + params.w_category * same_category + params.w_gap * hours / 72)
        score = 1.0 / (1.0 + math.exp(-z))
        if score < params.min_score:
            continue
        reasons: list[str] = []
        if same_caller:
            reasons.append(_("同一来电人"))
        if distance is not None and distance <= params.radius_m:
            reasons.append(_("相距约 %(metres).0f 米") % {"metres": distance})
        elif distance is None and within == 1.0:
            reasons.append(_("同一网格"))
        if similarity >= params.text_reason:
            reasons.append(_("诉求内容相似（%(percent).0f%%）") % {"percent": similarity * 100})
        if same_category:
            reasons.append(_("同一分类"))
        reasons.append(_("受理时间相差 %(hours).0f 小时") % {"hours": hours} if hours >= 1 else _("受理时间相差不到 1 小时"))
        out.append(Candidate(request=request, score=round(score, 4), reasons=reasons, text_similarity=round(similarity, 4),
                             distance_m=None if distance is None else round(distance, 1), same_caller=same_caller,
                             same_category=same_category))
    out.sort(key=lambda c: (-c.score, -c.request.at.timestamp()))
    return out[: params.limit]


# --- from the database ----------------------------------------------------------------------------

POOL_LIMIT = 5000


def _request(order: Any) -> Request:
    return Request(id=order.pk, text=f"{order.title} {order.content}", at=order.accepted_at, phone=order.citizen_phone or "",
                   lat=order.lat, lng=order.lng, category_id=order.category_id, grid_id=order.area_id,
                   extra={"order": order})


def duplicate_candidates(*, actor: Any, order_id: Any, params: DuplicateParams = DuplicateParams()) -> list[Candidate]:
    """Open orders the actor may see that may duplicate order ``order_id`` (outside the actor's
    jurisdiction, or missing: NotFound). The pool: open orders accepted within the window, from the same
    caller or in the same district, newest first, at most ``POOL_LIMIT``."""
    from django.db.models import Q

    from tongxin.core.errors import NotFound
    from tongxin.workorders.choices import TERMINAL_STATUSES
    from tongxin.workorders.selectors import work_order_get, work_orders_visible_to

    order = work_order_get(actor=actor, order_id=order_id)
    if order is None:
        raise NotFound()
    parts = [p for p in order.area_path.strip("/").split("/") if p]
    district_path = "/" + "/".join(parts[:2]) + "/" if len(parts) >= 2 else order.area_path
    near = Q(area_path__startswith=district_path)
    if order.citizen_phone:
        near |= Q(citizen_phone=order.citizen_phone)
    pool = (
        work_orders_visible_to(actor)
        .exclude(status__in=TERMINAL_STATUSES).exclude(pk=order.pk)
        .filter(accepted_at__gte=order.accepted_at - params.window, accepted_at__lte=order.accepted_at + params.window)
        .filter(near)
        .select_related("category")
        .only("id", "number", "title", "content", "accepted_at", "citizen_phone", "lat", "lng", "category_id",
              "category__name", "area_id", "status")
        .order_by("-accepted_at")[:POOL_LIMIT]
    )
    return rank_duplicates(_request(order), [_request(o) for o in pool], params)


def duplicate_candidates_for_draft(
    *, actor: Any, text: str, phone: str = "", lat: float | None = None, lng: float | None = None,
    area_path: str = "", area_id: int | None = None, category_id: int | None = None, at: datetime | None = None,
    params: DuplicateParams = DuplicateParams(),
) -> list[Candidate]:
    """Open orders the actor may see that may be the same request as a call still being typed (the
    intake console warns before anything is saved). The pool: open orders of the window, from the same
    caller or in the same district (or anywhere visible when no place is known yet), newest first."""
    from django.db.models import Q
    from django.utils import timezone

    from tongxin.workorders.choices import TERMINAL_STATUSES
    from tongxin.workorders.selectors import work_orders_visible_to

    at = at or timezone.now()
    phone = (phone or "").strip()
    parts = [p for p in (area_path or "").strip("/").split("/") if p]
    near: Q | None = None
    if len(parts) >= 2:
        near = Q(area_path__startswith="/" + "/".join(parts[:2]) + "/")
    if phone:
        near = Q(citizen_phone=phone) if near is None else near | Q(citizen_phone=phone)
    if near is None and not (text or "").strip():
        return []
    pool = (
        work_orders_visible_to(actor)
        .exclude(status__in=TERMINAL_STATUSES)
        .filter(accepted_at__gte=at - params.window, accepted_at__lte=at)
        .select_related("category")
        .only("id", "number", "title", "content", "accepted_at", "citizen_phone", "lat", "lng", "category_id",
              "category__name", "area_id", "status")
        .order_by("-accepted_at")
    )
    if near is not None:
        pool = pool.filter(near)
    target = Request(id=0, text=text or "", at=at, phone=phone, lat=lat, lng=lng, category_id=category_id,
                     grid_id=area_id)
    return rank_duplicates(target, [_request(o) for o in pool[:POOL_LIMIT]], params)
