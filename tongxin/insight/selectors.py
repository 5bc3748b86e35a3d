"""Reads of the insight room: the active classifier, classification mapped onto the category tree, and
the platform history the retraining learns from.

The history is read with plain querysets on the work-order models (``WorkOrder``, ``Category``): a
training job reads every closed order, has no actor and needs no jurisdiction. Everything an actor asks
for (duplicates of an order, hotspots of an area) starts from ``work_orders_visible_to(actor)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.core.errors import ApplicationError, PermissionDenied
from tongxin.workorders.choices import Status
from tongxin.workorders.models import Category, WorkOrder

from . import config
from .classifier import ModelFileError, Prediction, TextClassifier, load_cached
from .models import ClassifierModel, ModelStatus
from .textfeatures import dedupe_key

PATH_SEPARATOR = "/"


class ClassifierUnavailable(ApplicationError):
    status = 503
    code = "classifier_unavailable"
    default_message = gettext_lazy("智能分类模型尚未训练：请运行 tongxin classifier retrain，或配置 TONGXIN_CLASSIFIER_MODEL")


# --- the active model ----------------------------------------------------------------------------

@dataclass
class ActiveClassifier:
    model: TextClassifier
    path: str
    record: ClassifierModel | None  # None: the fallback file of TONGXIN_CLASSIFIER_MODEL

    def describe(self) -> dict[str, Any]:
        header = self.model.header
        return {
            "id": self.record.pk if self.record else None,
            "source": self.record.source if self.record else header.get("source", "file"),
            "created_at": header.get("created_at") or (self.record.created_at.isoformat() if self.record else None),
            "format_version": header.get("format_version"),
            "heads": sorted(self.model.heads),
        }


_verified: dict[str, str] = {}


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def classifier_active() -> ActiveClassifier | None:
    """The model the platform uses now: the active row's file (its checksum verified once per process),
    else the file named by TONGXIN_CLASSIFIER_MODEL, else None. One small query per call; the model
    itself is read from disk once per process (``load_cached``)."""
    record = ClassifierModel.objects.filter(status=ModelStatus.ACTIVE).first()
    if record is not None:
        if _verified.get(record.path) != record.sha256:
            if not Path(record.path).exists():
                raise ModelFileError(_("启用中的模型文件不存在：%(path)s") % {"path": record.path},
                                     code="classifier_model_missing")
            if _sha256(record.path) != record.sha256:
                raise ModelFileError(_("模型文件 %(path)s 的校验和与登记的不一致") % {"path": record.path},
                                     code="classifier_model_checksum")
            _verified[record.path] = record.sha256
        return ActiveClassifier(model=load_cached(record.path), path=record.path, record=record)
    fallback = config.fallback_model_path()
    if fallback:
        return ActiveClassifier(model=load_cached(fallback), path=fallback, record=None)
    return None


# --- the category tree ------------------------------------------------------------------------------

@dataclass
class CategoryIndex:
    """Active categories by name path ("城乡建设", "城乡建设/城市建设和市政管理", …) and by id."""

    by_path: dict[str, Category] = field(default_factory=dict)
    path_of: dict[int, str] = field(default_factory=dict)


def category_index() -> CategoryIndex:
    nodes = {c.pk: c for c in Category.objects.filter(active=True).only("pk", "code", "name", "parent_id", "level", "path")}
    index = CategoryIndex()
    for node in sorted(nodes.values(), key=lambda c: c.level):
        parent_path = index.path_of.get(node.parent_id) if node.parent_id else ""
        if node.parent_id and parent_path is None:
            continue  # under an inactive parent
        path = f"{parent_path}{PATH_SEPARATOR}{node.name}" if parent_path else node.name
        index.path_of[node.pk] = path
        index.by_path.setdefault(path, node)
    return index


def _category_out(category: Category | None) -> dict[str, Any] | None:
    if category is None:
        return None
    return {"id": category.pk, "code": category.code, "name": category.name, "level": category.level}


def classify(*, text: str, title: str = "", threshold: float | None = None) -> dict[str, Any]:
    """Top three first-level categories with confidences, mapped onto the category tree by name, and
    the category to pre-select: the first-level one if its confidence reaches the threshold, refined to
    level 2 and 3 while the model has those heads and is confident enough inside the chosen parent."""
    active = classifier_active()
    if active is None:
        raise ClassifierUnavailable()
    threshold = config.preselect_threshold() if threshold is None else threshold
    message: Any = (title, text) if title.strip() else text
    model = active.model
    index = category_index()
    top = model.predict([message], head="level1", k=3)[0]
    result: dict[str, Any] = {
        "top": [{"name": p.label, "confidence": p.confidence, "category": _category_out(index.by_path.get(p.label))}
                for p in top],
        "preselect": None,
        "threshold": threshold,
        "model": active.describe(),
    }
    best = top[0]
    chosen = index.by_path.get(best.label)
    if best.confidence < threshold or chosen is None:
        return result
    confidence = best.confidence
    chosen_path = best.label
    for head in ("level2", "level3"):
        if head not in model.heads:
            break
        inside = _best_under(model.predict([message], head=head, k=len(model.heads[head].labels))[0], chosen_path)
        if inside is None or inside.confidence < threshold or inside.label not in index.by_path:
            break
        chosen, chosen_path, confidence = index.by_path[inside.label], inside.label, inside.confidence
    result["preselect"] = {**(_category_out(chosen) or {}), "confidence": confidence}
    return result


def _best_under(predictions: list[Prediction], parent_path: str) -> Prediction | None:
    """The most likely label below ``parent_path``, its confidence renormalised within the parent."""
    prefix = parent_path + PATH_SEPARATOR
    inside = [p for p in predictions if p.label.startswith(prefix)]
    total = sum(p.confidence for p in inside)
    if not inside or total <= 0:
        return None
    best = max(inside, key=lambda p: p.confidence)
    return Prediction(best.label, round(best.confidence / total, 4))


def classify_allowed(actor: Any) -> None:
    """Anyone holding a role may ask for a classification (it reveals no order); others: 403."""
    from tongxin.accounts.selectors import actor_scope

    if not actor_scope(actor).roles:
        raise PermissionDenied(_("您没有可使用智能分类的角色"))


# --- the history the platform learns from ------------------------------------------------------------

@dataclass
class HistoryItem:
    key: str  # dedupe key of title + content
    title: str
    content: str
    paths: list[str]  # name paths of the final category's level 1, 2, 3 (as deep as it goes)
    order_ids: list[int] = field(default_factory=list)


def training_history(*, limit: int | None = None) -> tuple[list[HistoryItem], int]:
    """Closed orders with a category, deduplicated by their normalised title + content (an identical
    text under different categories is dropped: it would teach nothing but noise). Returns the items
    and how many texts were dropped for conflicting categories."""
    index = category_index()
    rows = (WorkOrder.objects.filter(status=Status.CLOSED, category__isnull=False)
            .order_by("-closed_at", "-id").values_list("id", "title", "content", "category_id"))
    if limit:
        rows = rows[:limit]
    groups: dict[str, HistoryItem] = {}
    conflicting: set[str] = set()
    for pk, title, content, category_id in rows.iterator(chunk_size=2000):
        path = index.path_of.get(category_id)
        if not path:
            continue
        key = dedupe_key(f"{title} {content}")
        if not key:
            continue
        parts = path.split(PATH_SEPARATOR)
        paths = [PATH_SEPARATOR.join(parts[: n + 1]) for n in range(len(parts))]
        item = groups.get(key)
        if item is None:
            groups[key] = HistoryItem(key=key, title=title or "", content=content or "", paths=paths, order_ids=[pk])
        elif item.paths != paths:
            conflicting.add(key)
        else:
            item.order_ids.append(pk)
    items = [item for key, item in groups.items() if key not in conflicting]
    return items, len(conflicting)


def classifier_model_list(*, limit: int = 20) -> list[ClassifierModel]:
    return list(ClassifierModel.objects.all()[:limit])


def classifier_has_active() -> bool:
    """Whether a platform-trained model is registered as active (its file is not opened here)."""
    return ClassifierModel.objects.filter(status=ModelStatus.ACTIVE).exists()
