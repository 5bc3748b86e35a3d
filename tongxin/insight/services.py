"""Writes of the insight room: retraining the classifier from the platform's own history.

``classifier_retrain`` learns from closed work orders (title + content → the final category), measures
the new model and the active one on the same held-out part of that history, and activates the new one
only if it scores at least as well (first-level macro-F1). The held-out part is fixed forever: an order
belongs to it when the SHA-1 of its normalised text falls in bucket 0 of 5. No model ever trains on it,
so the active model and every later candidate are compared on orders neither has seen, and identical
texts (a redo copies its original) always fall on the same side.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import config
from .classifier import HEADS, ModelFileError, TextClassifier
from .models import ClassifierModel, ModelStatus
from .selectors import HistoryItem, classifier_active, training_history
from .training import calibrate, evaluate, fit, stable_bucket

logger = logging.getLogger("tongxin.insight")

HELD_OUT_BUCKET = 0
BUCKETS = 5
MIN_HELD_OUT = 20


@dataclass
class RetrainReport:
    status: str  # activated | rejected | insufficient_data | dry_run
    message: str
    model_id: int | None = None
    path: str | None = None
    report_path: str | None = None
    candidate: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _head_labels(items: list[HistoryItem], level: int, min_per_class: int) -> list[str | None]:
    """The label of each item for the head of ``level`` (1-based); None where the item's category is
    not that deep or its class has fewer than ``min_per_class`` training items."""
    raw = [item.paths[level - 1] if len(item.paths) >= level else None for item in items]
    if level == 1:
        return raw
    counts = Counter(label for label in raw if label is not None)
    return [label if label is not None and counts[label] >= min_per_class else None for label in raw]


def _documents(items: list[HistoryItem], labels: dict[str, list[str | None]]) -> tuple[list[str], dict[str, list[str | None]]]:
    """Each order gives its content as one training text and, when it has one, its title as another
    (the contest data's subjects and bodies, the same way)."""
    texts: list[str] = []
    out: dict[str, list[str | None]] = {head: [] for head in labels}
    for n, item in enumerate(items):
        for text in (item.content, item.title):
            if text.strip():
                texts.append(text)
                for head, values in labels.items():
                    out[head].append(values[n])
    return texts, out


def _message(item: HistoryItem) -> Any:
    return (item.title, item.content) if item.title.strip() else item.content


def _measure(model: TextClassifier, held: list[HistoryItem]) -> dict[str, Any]:
    """First-level metrics on all held-out items; lower levels on the held-out items whose class the
    head knows."""
    result: dict[str, Any] = {}
    for level, head in enumerate(HEADS, start=1):
        if head not in model.heads:
            continue
        known = set(model.heads[head].labels)
        chosen = [i for i in held if len(i.paths) >= level and (level == 1 or i.paths[level - 1] in known)]
        if not chosen:
            continue
        r = evaluate(model, [_message(i) for i in chosen], [i.paths[level - 1] for i in chosen], head=head)
        result[head] = {k: r[k] for k in ("n", "accuracy", "macro_f1", "top3_accuracy")}
        if level == 1:
            result[head]["per_class_f1"] = r["per_class_f1"]
    return result


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def classifier_retrain(*, dry_run: bool = False, min_orders: int | None = None, out_dir: str | Path | None = None,
                       log: Callable[[str], Any] = lambda _m: None) -> RetrainReport:
    """Train a candidate on the platform's closed orders; activate it if it is not worse than the active
    model on the held-out part. Writes the model file and its evaluation report (JSON) side by side and
    records the outcome as a ClassifierModel row (also a rejected candidate, for the record)."""
    started = time.perf_counter()
    min_orders = config.min_orders() if min_orders is None else min_orders
    items, conflicting = training_history()
    train = [i for i in items if stable_bucket(i.key, BUCKETS) != HELD_OUT_BUCKET]
    held = [i for i in items if stable_bucket(i.key, BUCKETS) == HELD_OUT_BUCKET]
    level1_classes = Counter(i.paths[0] for i in train)
    data = {"closed_orders": sum(len(i.order_ids) for i in items), "unique_texts": len(items),
            "dropped_conflicting": conflicting, "train": len(train), "held_out": len(held),
            "level1_classes": len(level1_classes), "split": f"sha1(normalised text) % {BUCKETS} == {HELD_OUT_BUCKET} is held out"}
    log(f"历史工单：已办结且有分类的 {data['closed_orders']} 张，去重后 {len(items)} 条文本；训练 {len(train)}，留出评估 {len(held)}")
    if len(train) < min_orders or len(held) < MIN_HELD_OUT or len(level1_classes) < 2:
        return RetrainReport(
            status="insufficient_data", data=data, seconds=round(time.perf_counter() - started, 1),
            message=f"可用于训练的已办结工单不足（训练 {len(train)} 条，需 ≥ {min_orders}；留出 {len(held)} 条，需 ≥ {MIN_HELD_OUT}；"
                    f"一级分类 {len(level1_classes)} 个，需 ≥ 2），未训练新模型")
    per_class = config.min_per_class()
    labels = {head: _head_labels(train, level, per_class) for level, head in enumerate(HEADS, start=1)}
    texts, doc_labels = _documents(train, labels)
    candidate = fit(texts, doc_labels)
    candidate_metrics = _measure(candidate, held)
    data["heads"] = {head: len(h.labels) for head, h in candidate.heads.items()}
    current_metrics: dict[str, Any] | None = None
    current_id: int | None = None
    try:
        active = classifier_active()
    except ModelFileError as exc:
        active = None
        log(f"当前模型无法读取（{exc.message}），视为没有当前模型")
    if active is not None:
        current_metrics = _measure(active.model, held)
        current_metrics["model"] = active.describe()
        current_id = active.record.pk if active.record else None
    new_f1 = candidate_metrics["level1"]["macro_f1"]
    old_f1 = current_metrics["level1"]["macro_f1"] if current_metrics and "level1" in current_metrics else None
    better = old_f1 is None or new_f1 >= old_f1
    for level, head in enumerate(HEADS, start=1):  # confidences: temperatures fitted on the held-out part
        if head in candidate.heads:
            chosen = [i for i in held if len(i.paths) >= level]
            calibrate(candidate, head, [_message(i) for i in chosen], [i.paths[level - 1] for i in chosen])
    verdict = (f"新模型一级分类 macro-F1 {new_f1:.4f}" + (f"，当前模型 {old_f1:.4f}" if old_f1 is not None else "（当前没有模型）")
               + ("：启用新模型" if better else "：新模型不如当前模型，保留当前模型"))
    log(verdict)
    now = timezone.now()
    candidate.header.update({
        "created_at": now.isoformat(), "source": "platform",
        "training": {**data, "min_per_class": per_class, "min_orders": min_orders},
        "metrics": {"held_out": candidate_metrics, "current_on_same_held_out": current_metrics},
    })
    report = RetrainReport(status="dry_run" if dry_run else ("activated" if better else "rejected"), message=verdict,
                           candidate=candidate_metrics, current=current_metrics, data=data)
    if dry_run:
        report.seconds = round(time.perf_counter() - started, 1)
        return report
    directory = Path(out_dir) if out_dir else config.model_dir()
    stem = f"classifier-{timezone.localtime(now):%Y%m%d-%H%M%S}-{now.microsecond:06d}"
    path = candidate.save(directory / f"{stem}.npz")
    report.path = str(path)
    report.report_path = str(directory / f"{stem}.report.json")
    report.seconds = round(time.perf_counter() - started, 1)
    record = _record(report, path, now, better=better, expected_active_id=current_id,
                     heads=sorted(candidate.heads), training_orders=sum(len(i.order_ids) for i in train))
    report.model_id = record.pk
    if record.status != ModelStatus.ACTIVE and report.status == "activated":
        report.status, report.message = "rejected", record.note
    Path(report.report_path).write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return report


@transaction.atomic
def _record(report: RetrainReport, path: Path, now: Any, *, better: bool, expected_active_id: int | None,
            heads: list[str], training_orders: int) -> ClassifierModel:
    """Register the candidate; swap the active model in one transaction. If another retrain activated a
    model while this one was being measured, this candidate was not compared with it: it is recorded
    as rejected rather than risk replacing a better model."""
    active = list(ClassifierModel.objects.select_for_update().filter(status=ModelStatus.ACTIVE))
    active_id = active[0].pk if active else None
    note = report.message
    status = ModelStatus.ACTIVE if better else ModelStatus.REJECTED
    if better and active_id != expected_active_id:
        status, note = ModelStatus.REJECTED, "评估期间另一个模型已被启用，本模型未与其比较，不予启用"
    if status == ModelStatus.ACTIVE:
        ClassifierModel.objects.filter(pk__in=[m.pk for m in active]).update(status=ModelStatus.RETIRED, retired_at=now)
    level1 = report.candidate.get("level1", {})
    return ClassifierModel.objects.create(
        created_at=now, path=str(path), report_path=report.report_path or "", sha256=_sha256(path), status=status,
        source="platform", training_orders=training_orders, held_out_orders=report.data.get("held_out", 0),
        macro_f1=level1.get("macro_f1"), accuracy=level1.get("accuracy"), heads=heads,
        metrics={"candidate": report.candidate, "current": report.current}, note=note[:300],
        activated_at=now if status == ModelStatus.ACTIVE else None,
    )


# --- early warning: hotspots become notifications for the area's leaders ---------------------------

@dataclass
class HotspotAlertReport:
    hotspots: int = 0
    notified: int = 0
    dry_run: bool = False
    items: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _CityReader:
    """The periodic job reads the whole city (as Open311's public reader does): no stored user."""

    pk = None
    is_authenticated = True
    is_superuser = True
    is_active = True


def hotspot_alerts_send(*, days: int = 7, radius_m: float = 500.0, min_size: int = 3, dry_run: bool = False,
                        now: Any = None) -> HotspotAlertReport:
    """未诉先办: every current hotspot (``hotspots.hotspot_list`` over the whole city) is sent to the leaders
    whose area contains it, as an in-app notification linking to the requests behind it. Idempotent: a
    hotspot is named by its category, its area and its earliest request, so a cluster that grows is not
    announced twice, and running the job twice notifies once. ``dry_run`` lists without sending."""
    from tongxin.accounts.choices import Role
    from tongxin.accounts.selectors import users_with_area_role
    from tongxin.accounts.services import notification_send
    from tongxin.regions.selectors import area_get_by_code

    from .hotspots import hotspot_list

    items = hotspot_list(actor=_CityReader(), days=days, radius_m=radius_m, min_size=min_size, now=now)
    report = HotspotAlertReport(hotspots=len(items), dry_run=dry_run)
    for item in items:
        area = area_get_by_code(item["area"]["code"])
        if area is None:
            continue
        category = item["category"]["name"] if item["category"] else "同类诉求"
        first = item["orders"][0]
        title = f"热点预警：{item['area']['name']} {days} 天内 {item['count']} 件“{category}”相近诉求"
        body = ("、".join(o["number"] for o in item["orders"][:20])
                + (f"；热词：{'、'.join(item['words'])}" if item["words"] else ""))
        leaders = users_with_area_role({Role.LEADER}, area.path)
        report.items.append({"title": title, "area": item["area"]["code"], "orders": [o["id"] for o in item["orders"]],
                             "leaders": [u.username for u in leaders]})
        if dry_run or not leaders:
            continue
        key = f"hotspot:{item['category']['id'] if item['category'] else 0}:{item['area']['code']}:{first['id']}"
        with transaction.atomic():
            report.notified += notification_send(
                recipients=leaders, kind="hotspot", title=title[:200], body=body, object_type="work_order",
                object_id=first["id"], url=f"/orders/{first['id']}/", dedupe_key=key)
    return report
