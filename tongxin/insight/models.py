"""Trained classifier models known to the platform (the files live on disk, see docs/insight.md)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ModelStatus(models.TextChoices):
    ACTIVE = "active", _("使用中")
    RETIRED = "retired", _("已替换")
    REJECTED = "rejected", _("未通过评估")


class ClassifierModel(models.Model):
    """One trained category classifier: where its file is, what it was trained on and how it scored.

    Rules: at most one row is ``active`` (a partial unique constraint); a new model becomes active only
    through ``services.classifier_retrain``, and only if it scores at least as well as the active one on
    the held-out part of the platform's history; rows are never edited afterwards except to retire them.
    The file is read with ``allow_pickle=False`` and checked against ``sha256`` before use."""

    created_at = models.DateTimeField(_("训练时间"), default=timezone.now)
    path = models.CharField(_("模型文件"), max_length=500)
    report_path = models.CharField(_("评估报告"), max_length=500, blank=True)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(_("状态"), max_length=10, choices=ModelStatus.choices)
    source = models.CharField(_("训练数据"), max_length=20, default="platform")
    training_orders = models.PositiveIntegerField(_("训练工单数"), default=0)
    held_out_orders = models.PositiveIntegerField(_("留出评估工单数"), default=0)
    macro_f1 = models.FloatField(_("一级分类 macro-F1"), null=True, blank=True)
    accuracy = models.FloatField(_("一级分类准确率"), null=True, blank=True)
    heads = models.JSONField(_("分类层级"), default=list)
    metrics = models.JSONField(_("评估结果"), default=dict)
    activated_at = models.DateTimeField(_("启用时间"), null=True, blank=True)
    retired_at = models.DateTimeField(_("替换时间"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("分类模型")
        verbose_name_plural = _("分类模型")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="one_active_classifier"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.get_status_display()}"
