"""Core models: the audit log and the working calendar. Core knows no domain."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import AuditEventType, CalendarDayKind


class AuditEvent(models.Model):
    """One audited event: a privileged read of personal data, a role change, a configuration change.

    Rules: append-only (never updated or deleted by the application); written in the same transaction
    as the change it records, whether or not a web request exists; ``object_type``/``object_id`` name
    the object without a foreign key so core depends on no domain.
    """

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("操作人名称"), max_length=150, blank=True)
    event_type = models.CharField(_("事件类型"), max_length=40, choices=AuditEventType.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=60, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    data = models.JSONField(_("内容"), default=dict, blank=True)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.get_event_type_display()}"


class CalendarYear(models.Model):
    """A year whose statutory holidays and makeup workdays have been entered.

    A year without a row falls back to weekends-only, and the application warns loudly (admin banner,
    log, health check) until someone enters it: the State Council publishes each year's schedule in
    November or December of the year before.
    """

    year = models.PositiveIntegerField(_("年份"), unique=True)
    source = models.CharField(_("来源"), max_length=200, blank=True)
    entered_at = models.DateTimeField(_("录入时间"), default=timezone.now)

    class Meta:
        verbose_name = _("已录入年份")
        verbose_name_plural = _("已录入年份")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """An exception to the weekly rule: a statutory holiday on a weekday, or a makeup workday (调休) on a
    weekend. Ordinary weekdays and weekends need no row."""

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=CalendarDayKind.choices)
    name = models.CharField(_("名称"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class WorkingPeriod(models.Model):
    """One span of working hours on a working day, e.g. 08:30–12:00 and 14:30–18:00. Spans must not
    overlap; the calendar sorts them."""

    start = models.TimeField(_("开始"))
    end = models.TimeField(_("结束"))

    class Meta:
        verbose_name = _("工作时段")
        verbose_name_plural = _("工作时段")
        ordering = ["start"]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"
