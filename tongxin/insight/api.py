"""The insight API under /api/v1/insight: classification, duplicates, department suggestion, hotspots
and hot words. Every read of an order starts from the actor's jurisdiction (outside it: 404)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema
from pydantic import ConfigDict

from tongxin.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongxin.workorders.schemas import ERRORS, MAX_ID

from . import selectors
from .duplicates import duplicate_candidates

router = Router(tags=["insight"])

OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="The order's `id`.")]
ERRORS_503 = {**ERRORS, 503: ERRORS[400]}


def actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _require_role(request: HttpRequest) -> Any:
    user = actor(request)
    selectors.classify_allowed(user)
    return user


# --- classification ---------------------------------------------------------------------------------

class ClassifyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., min_length=1, description="The request's content (or a subject line).")
    title: str = Field("", max_length=200, description="Optional title / subject: scored separately and added.")


class CategoryRef(Schema):
    id: int
    code: str
    name: str
    level: int


class TopCategory(Schema):
    name: str = Field(..., description="First-level category name as the model knows it.")
    confidence: float
    category: CategoryRef | None = Field(None, description="The level-1 category of our tree with that name, if any.")


class Preselect(CategoryRef):
    confidence: float


class ModelInfo(Schema):
    id: int | None
    source: str | None
    created_at: str | None
    format_version: int | None
    heads: list[str]


class ClassifyOut(Schema):
    top: list[TopCategory]
    preselect: Preselect | None = Field(None, description="Null below the confidence threshold.")
    threshold: float
    model: ModelInfo


@router.post("/insight/classify", response={200: ClassifyOut, **ERRORS_503}, summary="Classify a request")
def classify(request: HttpRequest, payload: ClassifyIn) -> dict[str, Any]:
    """The three most likely first-level categories with confidences, and the category to pre-select
    (refined to levels 2–3 when the platform's model knows them); ``preselect`` is null when the best
    confidence is below TONGXIN_CLASSIFIER_THRESHOLD. 503 ``classifier_unavailable`` when no model is
    trained yet."""
    _require_role(request)
    text = payload.text.strip()
    if not text:
        raise ValidationFailed(fields={"text": _("内容不能为空")})
    limit = settings.TONGXIN_MAX_CONTENT_CHARS
    if len(text) > limit:
        raise ValidationFailed(fields={"text": _("不能超过 %(max)s 个字符（现有 %(count)s 个）") % {"max": limit, "count": len(text)}})
    return selectors.classify(text=text, title=payload.title)


# --- duplicates -------------------------------------------------------------------------------------

class DuplicateOut(Schema):
    id: int
    number: str
    status: str
    accepted_at: datetime
    title: str
    excerpt: str
    category: str | None
    score: float
    reasons: list[str]
    text_similarity: float
    distance_m: float | None
    same_caller: bool


class DuplicatesOut(Schema):
    order_id: int
    candidates: list[DuplicateOut]


@router.get("/insight/work-orders/{order_id}/duplicates", response={200: DuplicatesOut, **ERRORS},
            summary="Duplicate candidates (并单)")
def duplicates(request: HttpRequest, order_id: OrderId) -> dict[str, Any]:
    """Open orders within the time window that may be the same request: same caller, same place,
    similar text, same category, ranked, each with its reasons. Only orders the actor may see."""
    found = duplicate_candidates(actor=actor(request), order_id=order_id)
    out = []
    for c in found:
        order = c.request.extra["order"]
        out.append({
            "id": order.pk, "number": order.number, "status": order.status, "accepted_at": order.accepted_at,
            "title": order.title, "excerpt": order.content[:120], "category": order.category.name if order.category_id else None,
            "score": c.score, "reasons": c.reasons, "text_similarity": c.text_similarity, "distance_m": c.distance_m,
            "same_caller": c.same_caller,
        })
    return {"order_id": order_id, "candidates": out}


# --- department suggestion -----------------------------------------------------------------------------

class DepartmentRef(Schema):
    id: int
    code: str
    name: str


class DepartmentSuggestionOut(Schema):
    source: str = Field(..., description="catalogue | history | none")
    lead: DepartmentRef | None
    co: list[DepartmentRef]
    reason: str
    share: float | None = Field(None, description="history: share of similar past orders the department finally handled")
    support: int = Field(0, description="history: how many similar past orders")


@router.get("/insight/work-orders/{order_id}/department-suggestion", response={200: DepartmentSuggestionOut, **ERRORS},
            summary="Department suggestion")
def department_suggestion(request: HttpRequest, order_id: OrderId) -> dict[str, Any]:
    """The dispatch catalogue's lead and co-handlers; where the catalogue has no answer, the department
    that finally handled most similar past orders (same category × area, most specific first)."""
    from tongxin.accounts.models import Department
    from tongxin.workorders.selectors import work_order_get

    from .suggest import department_suggest

    order = work_order_get(actor=actor(request), order_id=order_id)
    if order is None:
        raise NotFound()
    suggestion = department_suggest(category_id=order.category_id, area_path=order.area_path)
    ids = [d for d in [suggestion.department_id, *suggestion.co_department_ids] if d is not None]
    departments = {d.pk: d for d in Department.objects.filter(pk__in=ids)}

    def ref(pk: int | None) -> dict[str, Any] | None:
        d = departments.get(pk) if pk is not None else None
        return {"id": d.pk, "code": d.code, "name": d.name} if d else None

    return {"source": suggestion.source, "lead": ref(suggestion.department_id),
            "co": [r for r in (ref(pk) for pk in suggestion.co_department_ids) if r], "reason": suggestion.reason,
            "share": suggestion.share, "support": suggestion.support}


# --- hotspots and hot words ------------------------------------------------------------------------------

class InsightAreaRef(Schema):
    code: str
    name: str


class HotspotOrder(Schema):
    id: int
    number: str
    status: str
    accepted_at: datetime
    address: str


class HotspotOut(Schema):
    count: int
    category: dict[str, Any] | None
    area: InsightAreaRef
    center: dict[str, float] | None
    first_at: datetime
    last_at: datetime
    words: list[str]
    orders: list[HotspotOrder]


class HotspotFilters(Schema):
    area_code: str | None = Field(None, max_length=20)
    days: int = Field(7, ge=1, le=90)
    radius_m: float = Field(500, ge=50, le=5000)
    min_size: int = Field(3, ge=2, le=100)


def _dashboard_actor(request: HttpRequest) -> Any:
    from tongxin.accounts.choices import Role
    from tongxin.accounts.selectors import actor_scope

    user = actor(request)
    scope = actor_scope(user)
    if not (scope.is_admin or scope.roles & {Role.LEADER, Role.SUPERVISOR, Role.DISPATCHER, Role.OPERATOR}):
        raise PermissionDenied(_("只有领导和12345中心人员可以查看热点预警和热词"))
    return user


@router.get("/insight/hotspots", response={200: list[HotspotOut], **ERRORS}, summary="Hotspots / early warning")
def hotspots(request: HttpRequest, filters: Query[HotspotFilters]) -> list[dict[str, Any]]:
    """Clusters of ≥ ``min_size`` similar requests (same category) within ``radius_m`` metres (or the
    same grid) in the last ``days`` days, in the actor's jurisdiction: the early-warning items."""
    from .hotspots import hotspot_list

    return hotspot_list(actor=_dashboard_actor(request), area_code=filters.area_code, days=filters.days,
                        radius_m=filters.radius_m, min_size=filters.min_size)


class HotWordOut(Schema):
    word: str
    count: int
    baseline_count: int
    lift: float | None
    score: float


class HotWordsOut(Schema):
    area: InsightAreaRef | None
    start: datetime
    end: datetime
    requests: int
    baseline_requests: int
    words: list[HotWordOut]


class HotWordFilters(Schema):
    area_code: str | None = Field(None, max_length=20)
    days: int = Field(7, ge=1, le=90)
    top: int = Field(20, ge=1, le=100)


@router.get("/insight/hot-words", response={200: HotWordsOut, **ERRORS}, summary="Hot words per area and period")
def hot_words(request: HttpRequest, filters: Query[HotWordFilters]) -> dict[str, Any]:
    """Words frequent in the last ``days`` days and more frequent than in the four periods before
    (jieba segmentation; see docs/insight.md for the score)."""
    from .hotwords import hot_word_list

    return hot_word_list(actor=_dashboard_actor(request), area_code=filters.area_code, days=filters.days, top=filters.top)
