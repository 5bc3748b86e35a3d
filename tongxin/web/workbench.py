"""Shared pieces of the workbench pages (承办台, 派单/督办, 回访): the action forms, one function that
runs a workorders service and turns its errors into errors beside the fields (keeping what was typed),
and the facts a card shows. Views stay thin: parse a form, call one service, render one card."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.accounts.selectors import department_list
from tongxin.core.forms import run_service as core_run_service
from tongxin.workorders.choices import AssignmentRole, ReturnReason, Satisfaction, Status, UnsatisfiedCause
from tongxin.workorders.models import WorkOrder
from tongxin.workorders.queues import handler_department_ids
from tongxin.workorders.selectors import order_sla

TEXTAREA = forms.Textarea(attrs={"rows": 3})


class VersionForm(forms.Form):
    """Every action carries the version the user read: another user's action first answers 409."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class SignForm(VersionForm):
    note = forms.CharField(label=_("签收说明"), required=False, max_length=2000)


class ReturnForm(VersionForm):
    reason = forms.ChoiceField(label=_("退单原因"), choices=[("", _("请选择退单原因")), *ReturnReason.choices])
    note = forms.CharField(label=_("退单说明"), widget=TEXTAREA, max_length=2000)


class ExtensionForm(VersionForm):
    requested_due_at = forms.DateTimeField(
        label=_("申请延至"), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(label=_("延期理由"), widget=TEXTAREA, max_length=2000)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,application/pdf"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class ReplyForm(VersionForm):
    text = forms.CharField(label=_("办理结果（答复市民）"), widget=forms.Textarea(attrs={"rows": 4}))
    # The form metaclass moves a declared field out of the class, so the instance's ``files`` is still
    # the uploads (BaseForm.files); mypy sees only the class attribute. Renaming the field would change
    # the posted name ``files`` the page and the API aliases use.
    files = MultipleFileField(label=_("附件（图片或 PDF，可多选）"), required=False)  # type: ignore[assignment]


class CoReplyForm(VersionForm):
    text = forms.CharField(label=_("协办答复（答复主办单位）"), widget=TEXTAREA)


def _department_choices() -> list[tuple[Any, str]]:
    return [(d.pk, d.name) for d in department_list()]


class ReassignForm(VersionForm):
    lead_department_id = forms.TypedChoiceField(label=_("改派给（主办单位）"), coerce=int, choices=())
    co_department_ids = forms.TypedMultipleChoiceField(
        label=_("协办单位"), coerce=int, choices=(), required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    note = forms.CharField(label=_("改派说明"), widget=TEXTAREA, required=False, max_length=2000)

    def __init__(self, *args: Any, departments: list[tuple[Any, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = departments if departments is not None else _department_choices()
        lead, co = self.fields["lead_department_id"], self.fields["co_department_ids"]
        assert isinstance(lead, forms.ChoiceField) and isinstance(co, forms.ChoiceField)  # declared above
        lead.choices = [("", _("请选择承办单位")), *choices]
        co.choices = choices


class NoteRequiredForm(VersionForm):
    note = forms.CharField(label=_("说明"), widget=TEXTAREA, max_length=2000)


class ForceDispatchForm(NoteRequiredForm):
    note = forms.CharField(label=_("强制派单理由"), widget=TEXTAREA, max_length=2000)


class SuperviseForm(NoteRequiredForm):
    note = forms.CharField(label=_("督办意见"), widget=TEXTAREA, max_length=2000)


class RemindForm(VersionForm):
    note = forms.CharField(label=_("催办说明"), required=False, max_length=2000)


class ExtensionDecisionForm(VersionForm):
    decision = forms.ChoiceField(choices=[("approve", _("批准")), ("deny", _("驳回"))], widget=forms.HiddenInput)
    note = forms.CharField(label=_("审批意见（驳回必填）"), widget=TEXTAREA, required=False, max_length=2000)


class MergeForm(VersionForm):
    into_number = forms.CharField(label=_("并入工单编号（原工单）"), max_length=20)
    note = forms.CharField(label=_("并单说明"), required=False, max_length=2000)


class CallbackForm(VersionForm):
    satisfaction = forms.ChoiceField(label=_("回访结果"), choices=Satisfaction.choices)
    cause = forms.ChoiceField(label=_("不满意原因"), choices=[("", _("请选择原因")), *UnsatisfiedCause.choices],
                              required=False)
    note = forms.CharField(label=_("回访记录"), widget=TEXTAREA, required=False, max_length=2000)


class RedoForm(VersionForm):
    cause = forms.ChoiceField(label=_("不满意原因"), choices=[("", _("请选择原因")), *UnsatisfiedCause.choices])
    note = forms.CharField(label=_("重办理由（转给承办单位）"), widget=TEXTAREA, max_length=2000)


WORK_ORDER_FIELD_ALIASES = {"attachment_ids": "files", "into_id": "into_number", "file": "files"}


@dataclass(frozen=True)
class CardAction:
    """One action of a workbench card: its form, the service call (request, order, cleaned data) and the
    message shown when it succeeded. The queue and the dispatch board each keep a table of them."""

    form: type[forms.Form]
    call: Callable[[HttpRequest, Any, dict[str, Any]], Any]
    done: Any


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def run_service(form: forms.Form, call: Callable[[dict[str, Any]], Any]) -> tuple[bool, Any]:
    """core.forms.run_service for work orders: a service's ``attachment_ids[0]`` lands beside ``files``,
    ``into_id`` beside ``into_number``; an order outside the jurisdiction is 404."""
    return core_run_service(form, call, not_found=str(_("未找到该工单")), aliases=WORK_ORDER_FIELD_ALIASES)


def card_facts(order: WorkOrder, *, actor: Any = None, now: Any = None) -> dict[str, Any]:
    """What a card shows beyond the order's own fields: lights, countdowns, the departments' parts."""
    now = now or timezone.now()
    mine = set(handler_department_ids(actor)) if actor is not None else set()
    assignments = getattr(order, "active_assignments", [])
    co = [a for a in assignments if a.role == AssignmentRole.CO]
    my_co = next((a for a in co if a.department_id in mine), None)
    pending = getattr(order, "pending_extensions", [])
    sla = order_sla(order, now)
    light = sla["sign"] if order.status == Status.DISPATCHED else sla["completion"]
    sign_left = (order.sign_due_at - now) if order.sign_due_at and order.status == Status.DISPATCHED else None
    due_left = (order.due_at - now) if order.due_at and order.status in {Status.DISPATCHED, Status.IN_PROGRESS} else None
    return {
        "sla": sla, "light": light,
        "sign_left": _duration(sign_left), "sign_left_seconds": int(sign_left.total_seconds()) if sign_left else None,
        "due_left": _duration(due_left),
        "co": co, "co_pending": [a for a in co if a.replied_at is None], "my_co": my_co,
        "is_lead": order.lead_department_id in mine, "pending_extension": pending[0] if pending else None,
        "before_deadline": bool(order.due_at and now < order.due_at),
        "attachments": getattr(order, "attachment_list", []),
    }


def _duration(delta: timedelta | None) -> str:
    """「剩 1天3小时」/「超 2小时5分」: a coarse human countdown (the page's script refines sign-off)."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    prefix = _("剩") if seconds >= 0 else _("超")
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    day, hour, minute = _("天"), _("小时"), _("分")
    if days:
        return f"{prefix} {days}{day}{hours}{hour}"
    if hours:
        return f"{prefix} {hours}{hour}{minutes}{minute}"
    return f"{prefix} {minutes}{minute}"
