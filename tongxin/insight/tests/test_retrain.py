"""Retraining from the platform's closed orders: a first model is activated, an equal one replaces it,
a worse one does not; the report sits beside each model; a platform model refines the pre-selection to
lower levels."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from tongxin.insight.classifier import TextClassifier
from tongxin.insight.models import ClassifierModel, ModelStatus
from tongxin.insight.services import classifier_retrain
from tongxin.insight.textfeatures import dedupe_key
from tongxin.insight.training import stable_bucket
from tongxin.workorders.catalogue import category_upsert
from tongxin.workorders.models import WorkOrder

from .conftest import closed_history


@pytest.fixture
def history(world, health):
    # A second level-2 class, so that the platform model grows a level-2 head: 教育文体 → 学前教育.
    preschool = category_upsert(code="C0201", name="学前教育", parent=world.category_other)
    orders = closed_history(world, per_class=100)
    WorkOrder.objects.filter(pk__in=[o.pk for o in orders], category=world.category_other).update(category=preschool)
    return orders


@pytest.mark.django_db
def test_not_enough_history_trains_nothing(world):
    report = classifier_retrain(min_orders=10)
    assert report.status == "insufficient_data" and "不足" in report.message
    assert not ClassifierModel.objects.exists()


@pytest.mark.django_db
def test_first_model_is_activated_with_its_report(world, history, settings):
    report = classifier_retrain(min_orders=30)
    assert report.status == "activated", report.message
    row = ClassifierModel.objects.get()
    assert row.status == ModelStatus.ACTIVE and row.pk == report.model_id
    assert row.macro_f1 == report.candidate["level1"]["macro_f1"] >= 0.95
    assert row.held_out_orders == report.data["held_out"] > 0
    assert Path(row.path).parent == Path(settings.TONGXIN_CLASSIFIER_DIR)
    saved = json.loads(Path(row.report_path).read_text(encoding="utf-8"))
    assert saved["status"] == "activated" and saved["candidate"]["level1"]["n"] == report.data["held_out"]
    model = TextClassifier.load(row.path)
    assert model.header["source"] == "platform" and model.header["format_version"] == 1
    assert set(model.heads) == {"level1", "level2"}  # level 3 has one class only: nothing to learn
    assert model.heads["level2"].labels == ["城乡建设/市政管理", "教育文体/学前教育"]


@pytest.mark.django_db
def test_the_active_model_refines_the_preselection(world, history):
    classifier_retrain(min_orders=30)
    client = Client()
    client.force_login(world.user("operator"))
    body = client.post("/api/v1/insight/classify", {"text": "阳光花园的垃圾堆放多日无人清运，气味很大"},
                       content_type="application/json").json()
    assert body["top"][0]["name"] == "城乡建设"
    assert body["preselect"]["code"] == "C0101" and body["preselect"]["level"] == 2
    assert body["model"]["source"] == "platform" and body["model"]["heads"] == ["level1", "level2"]


@pytest.mark.django_db
def test_an_equal_model_replaces_and_a_worse_one_does_not(world, history):
    first = classifier_retrain(min_orders=30)
    second = classifier_retrain(min_orders=30)
    assert second.status == "activated"  # as good as the first on the same held-out part: not worse
    assert second.candidate["level1"]["macro_f1"] >= second.current["level1"]["macro_f1"]
    statuses = dict(ClassifierModel.objects.values_list("pk", "status"))
    assert statuses == {first.model_id: ModelStatus.RETIRED, second.model_id: ModelStatus.ACTIVE}

    # Now the training part of the history teaches nonsense: every training order's category is wrong
    # (texts made unique so that they do not collide with the held-out ones).
    training = [o for o in history if stable_bucket(dedupe_key(f" {o.content}")) != 0]
    WorkOrder.objects.filter(pk__in=[o.pk for o in training]).delete()
    wrong = {"城乡建设": world.category_other, "教育文体": world.category_health, "卫生计生": world.category_leaf}
    bad = closed_history(world, per_class=60, seed=11)
    keep = []
    for n, order in enumerate(bad):
        label = {world.category_leaf.pk: "城乡建设", world.category_other.pk: "教育文体",
                 world.category_health.pk: "卫生计生"}[order.category_id]
        order.content = f"{order.content}（第{n}号）"
        order.category = wrong[label]
        if stable_bucket(dedupe_key(f" {order.content}")) != 0:
            keep.append(order)
    WorkOrder.objects.bulk_update(keep, ["content", "category"])
    WorkOrder.objects.filter(pk__in=[o.pk for o in bad]).exclude(pk__in=[o.pk for o in keep]).delete()

    third = classifier_retrain(min_orders=30)
    assert third.status == "rejected", third.message
    assert third.candidate["level1"]["macro_f1"] < third.current["level1"]["macro_f1"]
    assert "保留当前模型" in third.message
    rejected = ClassifierModel.objects.get(pk=third.model_id)
    assert rejected.status == ModelStatus.REJECTED and rejected.activated_at is None
    assert ClassifierModel.objects.get(status=ModelStatus.ACTIVE).pk == second.model_id
    assert json.loads(Path(third.report_path).read_text(encoding="utf-8"))["status"] == "rejected"


@pytest.mark.django_db
def test_dry_run_writes_nothing(world, history, settings):
    report = classifier_retrain(min_orders=30, dry_run=True)
    assert report.status == "dry_run" and report.candidate["level1"]["n"] > 0
    assert not ClassifierModel.objects.exists()
    assert not Path(settings.TONGXIN_CLASSIFIER_DIR).exists()


@pytest.mark.django_db
def test_a_tampered_active_model_file_is_refused(world, history):
    classifier_retrain(min_orders=30)
    row = ClassifierModel.objects.get()
    with open(row.path, "ab") as fh:
        fh.write(b"tampered")
    client = Client()
    client.force_login(world.user("operator"))
    response = client.post("/api/v1/insight/classify", {"text": "暖气不热"}, content_type="application/json")
    assert response.status_code == 503 and response.json()["code"] == "classifier_model_checksum"


@pytest.mark.django_db
def test_retrain_and_status_commands(world, history):
    out = StringIO()
    call_command("classifier", "retrain", "--min-orders", "30", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "启用新模型" in text and "level1" in text and "report.json" in text
    out = StringIO()
    call_command("classifier", "status", stdout=out)
    assert "使用中" in out.getvalue()
    with pytest.raises(CommandError, match="不足"):
        call_command("classifier", "retrain", "--min-orders", "100000", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_periodic_task_retrains(world, history, settings):
    from tongxin.insight.tasks import classifier_retrain_task

    settings.TONGXIN_CLASSIFIER_MIN_ORDERS = 30
    result = classifier_retrain_task.call_local()
    assert result["status"] == "activated" and ClassifierModel.objects.filter(status=ModelStatus.ACTIVE).exists()
