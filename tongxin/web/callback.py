"""回访: replied orders awaiting callback, the longest waiting first. Satisfied or basically satisfied
closes the order in one click; unsatisfied takes a second step (the cause), then
either closes it (a cause outside the department's control) or sends it back for a redo (重办) with
the reason carried to the department. Reads through ``workorders.queues``, writes through
``work_order_callback`` / ``work_order_redo``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from tongxin.workorders import services as wo
from tongxin.workorders.choices import DEPARTMENT_CONTROLLABLE_CAUSES, Satisfaction, Status, UnsatisfiedCause
from tongxin.workorders.queues import (
    CENTRE_ROLES,
    callback_queue,
    callback_queue_count,
    is_centre_user,
    workbench_order_get,
)

from .workbench import VersionForm, card_facts, is_htmx, run_service


class SatisfiedForm(VersionForm):
    satisfaction = forms.ChoiceField(choices=[(Satisfaction.SATISFIED, Satisfaction.SATISFIED.label),
                                              (Satisfaction.BASICALLY_SATISFIED, Satisfaction.BASICALLY_SATISFIED.label)])
    note = forms.CharField(label=gettext_lazy("回访记录"), required=False, max_length=2000)


class UnsatisfiedForm(VersionForm):
    cause = forms.ChoiceField(label=gettext_lazy("不满意原因"),
                              choices=[("", gettext_lazy("请选择原因")), *UnsatisfiedCause.choices])
    note = forms.CharField(label=gettext_lazy("回访记录 / 重办理由（重办时转给承办单位，必填）"),
                           widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)
    do = forms.ChoiceField(choices=[("close", gettext_lazy("回访办结")), ("redo", gettext_lazy("重办"))],
                           widget=forms.HiddenInput)


def _satisfied(request: HttpRequest, order: Any, d: dict[str, Any]) -> Any:
    return wo.work_order_callback(order_id=order.pk, actor=request.user, satisfaction=d["satisfaction"],
                                  note=d["note"], version=d["version"])


def _unsatisfied(request: HttpRequest, order: Any, d: dict[str, Any]) -> Any:
    if d["do"] == "redo":
        return wo.work_order_redo(order_id=order.pk, actor=request.user, cause=d["cause"], note=d["note"],
                                  version=d["version"])
    return wo.work_order_callback(order_id=order.pk, actor=request.user, satisfaction=Satisfaction.UNSATISFIED,
                                  cause=d["cause"], note=d["note"], version=d["version"])


ACTIONS = {"satisfied": (SatisfiedForm, _satisfied), "unsatisfied": (UnsatisfiedForm, _unsatisfied)}


def _require_callback_staff(request: HttpRequest) -> None:
    if not is_centre_user(request.user, CENTRE_ROLES):
        raise Http404(_("您不是回访人员"))


def _card(order: Any, *, bound: dict[str, forms.Form] | None = None, flash: str = "", result: Any = None,
          now: Any = None) -> dict[str, Any]:
    bound = bound or {}
    built = {name: bound.get(name) or form(prefix=f"{name}-{order.pk}", initial={"version": order.version})
             for name, (form, _call) in ACTIONS.items()}
    return {"o": order, "f": card_facts(order, now=now), "forms": built, "flash": flash, "result": result,
            "card_errors": [e for form in bound.values() for e in form.non_field_errors()],
            "controllable": sorted(str(UnsatisfiedCause(c).label) for c in DEPARTMENT_CONTROLLABLE_CAUSES)}


@login_required
@require_GET
def callback_page(request: HttpRequest) -> HttpResponse:
    _require_callback_staff(request)
    now = timezone.now()
    cards = [_card(o, now=now) for o in callback_queue(actor=request.user)]
    return render(request, "web/callback/page.html", {
        "nav": "callback", "cards": cards, "count": callback_queue_count(actor=request.user),
    })


@login_required
@require_POST
def callback_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _require_callback_staff(request)
    spec = ACTIONS.get(action)
    order = workbench_order_get(actor=request.user, order_id=pk)
    if spec is None or order is None or order.status not in {Status.REPLIED, Status.CLOSED}:
        raise Http404(_("未找到该工单"))
    form_class, call = spec
    form = form_class(request.POST, prefix=f"{action}-{pk}")
    ok, result = run_service(form, lambda d: call(request, order, d))
    order = workbench_order_get(actor=request.user, order_id=pk) or order
    flash = ""
    if ok:
        redo = result if result is not None and result.pk != order.pk else None
        flash = (_("已转重办，新工单 %(number)s 已派回承办单位") % {"number": redo.number}) if redo else _("回访完成，工单已办结")
    context = _card(order, bound=None if ok else {action: form}, flash=flash, result=result)
    if is_htmx(request):
        return render(request, "web/callback/_card.html", context)
    if ok:
        return redirect(reverse("callback"))
    return render(request, "web/callback/order.html", {"nav": "callback", **context}, status=422)
