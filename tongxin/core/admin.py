"""Admin for the working calendar and a read-only view of the audit log.

Calendar edits change every deadline computed afterwards, so each save or delete is audited in the same
transaction and drops this process's cached calendar once committed (other processes reload within
``workcalendar.CACHE_SECONDS``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from .audit import audit_record
from .choices import AuditEventType, CalendarDayKind
from .models import AuditEvent, CalendarDay, CalendarYear, WorkingPeriod
from .workcalendar import invalidate_calendar_cache


class AuditedCalendarAdmin(admin.ModelAdmin):
    """Writes a CALENDAR_CHANGED audit event and invalidates the calendar cache on every change."""

    def _audit(self, request: HttpRequest, *, action: str, object_id: Any = "", data: dict[str, Any]) -> None:
        audit_record(
            actor=request.user,
            event_type=AuditEventType.CALENDAR_CHANGED,
            object_type=self.model._meta.label_lower,
            object_id=object_id,
            data={"action": action, **data},
        )
        # After commit: invalidating earlier would let a concurrent request re-cache the old rows.
        transaction.on_commit(invalidate_calendar_cache)

    def save_model(self, request: HttpRequest, obj: models.Model, form: forms.ModelForm, change: bool) -> None:
        with transaction.atomic():
            before = ""
            if change:
                old = type(obj)._default_manager.filter(pk=obj.pk).first()
                before = str(old) if old is not None else ""
            super().save_model(request, obj, form, change)
            self._audit(
                request, action="change" if change else "add", object_id=obj.pk,
                data={"before": before, "after": str(obj), "fields": list(form.changed_data)},
            )

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        with transaction.atomic():
            pk, label = obj.pk, str(obj)
            super().delete_model(request, obj)
            self._audit(request, action="delete", object_id=pk, data={"before": label})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            removed = [{"id": obj.pk, "before": str(obj)} for obj in queryset]
            super().delete_queryset(request, queryset)
            self._audit(request, action="delete", data={"objects": removed})


@admin.register(CalendarYear)
class CalendarYearAdmin(AuditedCalendarAdmin):
    list_display = ("year", "source", "entered_at")
    search_fields = ("year", "source")
    fieldsets = (
        (None, {
            "fields": ("year", "source", "entered_at"),
            "description": "先在“节假日与调休”中录入该年全部法定节假日（工作日上的）与调休上班日，再在此添加年份。"
                           "未录入的年份按仅周末休息计算期限，系统会持续提醒。",
        }),
    )


class CalendarDayForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ("date", "kind", "name")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        day, kind = cleaned.get("date"), cleaned.get("kind")
        # A makeup workday on a weekday changes nothing, so it is almost certainly a mistyped date.
        if day is not None and kind == CalendarDayKind.WORKDAY and day.weekday() < 5:
            self.add_error("date", "调休上班日应为周六或周日：周一至周五本来就是工作日，请检查日期")
        return cleaned


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedCalendarAdmin):
    form = CalendarDayForm
    list_display = ("date", "weekday", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "date"
    search_fields = ("name",)
    ordering = ("-date",)

    @admin.display(description="星期")
    def weekday(self, obj: CalendarDay) -> str:
        return "一二三四五六日"[obj.date.weekday()]


class WorkingPeriodForm(forms.ModelForm):
    class Meta:
        model = WorkingPeriod
        fields = ("start", "end")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is None or end is None:
            return cleaned
        if not start < end:
            self.add_error("end", "结束时间必须晚于开始时间")
            return cleaned
        # Overlapping periods would count the same minutes twice; the calendar refuses to load them.
        others = WorkingPeriod.objects.exclude(pk=self.instance.pk) if self.instance.pk else WorkingPeriod.objects.all()
        clash = others.filter(start__lt=end, end__gt=start).first()
        if clash is not None:
            raise forms.ValidationError(f"与已有工作时段 {clash} 重叠")
        return cleaned


@admin.register(WorkingPeriod)
class WorkingPeriodAdmin(AuditedCalendarAdmin):
    form = WorkingPeriodForm
    list_display = ("__str__", "start", "end")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, corrections are new rows (style guide §6)."""

    list_display = ("at", "actor_label", "event_type", "object_type", "object_id")
    list_filter = ("event_type", "object_type")
    search_fields = ("actor_label", "object_type", "object_id")
    date_hierarchy = "at"
    list_select_related = ("actor",)
    readonly_fields = ("at", "actor", "actor_label", "event_type", "object_type", "object_id", "data")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
