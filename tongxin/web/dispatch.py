"""派单/督办: the centre's board. Returned orders to review (reassign or force dispatch), extension
requests to approve or deny, orders about to breach and breached (remind, supervise), merging a
duplicate into its original, and bulk reminders/supervision with a confirmation step. Reads through
``workorders.queues`` (the actor's areas), writes through ``workorders.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope, department_list
from tongxin.core.errors import ApplicationError, ValidationFailed
from tongxin.workorders import services as wo
from tongxin.workorders.queues import (
    DISPATCH_SECTIONS,
    centre_order_by_number,
    centre_orders_by_ids,
    dispatch_board,
    dispatch_board_counts,
    is_centre_user,
    workbench_order_get,
)

from .workbench import (
    CardAction,
    ExtensionDecisionForm,
    ForceDispatchForm,
    MergeForm,
    ReassignForm,
    RemindForm,
    SuperviseForm,
    card_facts,
    is_htmx,
    run_service,
)

DISPATCH_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR})
SECTION_LABELS = {
    "returned": gettext_lazy("退单审核"), "extensions": gettext_lazy("延期审批"),
    "due_soon": gettext_lazy("即将超期"), "overdue": gettext_lazy("已超期"),
}
BULK_ACTIONS = {"remind": gettext_lazy("批量催办"), "supervise": gettext_lazy("批量督办")}


def _merge(request: HttpRequest, order: Any, d: dict[str, Any]) -> Any:
    original = centre_order_by_number(actor=request.user, number=d["into_number"])
    if original is None:
        raise ValidationFailed(fields={"into_number": _("未找到该编号的工单，或不在您的管辖范围内")})
    return wo.work_order_merge(order_id=order.pk, actor=request.user, into_id=original.pk, note=d["note"],
                               version=d["version"])


ACTIONS: dict[str, CardAction] = {
    "reassign": CardAction(ReassignForm, lambda r, o, d: wo.work_order_reassign(
        order_id=o.pk, actor=r.user, lead_department_id=d["lead_department_id"],
        co_department_ids=d["co_department_ids"], note=d["note"], version=d["version"]), gettext_lazy("已改派")),
    "force_dispatch": CardAction(ForceDispatchForm, lambda r, o, d: wo.work_order_force_dispatch(
        order_id=o.pk, actor=r.user, note=d["note"], version=d["version"]), gettext_lazy("已强制派回原单位")),
    "decide_extension": CardAction(ExtensionDecisionForm, lambda r, o, d: wo.work_order_decide_extension(
        order_id=o.pk, actor=r.user, approve=d["decision"] == "approve", note=d["note"], version=d["version"]),
        gettext_lazy("延期申请已处理")),
    "remind": CardAction(RemindForm, lambda r, o, d: wo.work_order_remind(
        order_id=o.pk, actor=r.user, note=d["note"], version=d["version"]), gettext_lazy("已催办")),
    "supervise": CardAction(SuperviseForm, lambda r, o, d: wo.work_order_supervise(
        order_id=o.pk, actor=r.user, note=d["note"], version=d["version"]), gettext_lazy("已发督办通知")),
    "merge": CardAction(MergeForm, _merge, gettext_lazy("已并单")),
}


def _require_dispatcher(request: HttpRequest) -> None:
    if not is_centre_user(request.user, DISPATCH_ROLES):
        raise Http404(_("您不是派单员或督办员"))


def _forms(order: Any, departments: list[tuple[Any, str]], bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    bound = bound or {}
    built: dict[str, Any] = {}
    for name, spec in ACTIONS.items():
        if name in bound:
            built[name] = bound[name]
            continue
        kwargs: dict[str, Any] = {"prefix": f"{name}-{order.pk}", "initial": {"version": order.version}}
        if spec.form is ReassignForm:
            kwargs["departments"] = departments
        built[name] = spec.form(**kwargs)
    return built


def _card(request: HttpRequest, order: Any, departments: list[tuple[Any, str]], *, section: str,
          bound: dict[str, forms.Form] | None = None, flash: str = "", now: Any = None) -> dict[str, Any]:
    scope = actor_scope(request.user)
    return {"o": order, "f": card_facts(order, now=now), "forms": _forms(order, departments, bound), "flash": flash,
            "card_errors": [e for form in (bound or {}).values() for e in form.non_field_errors()],
            "section": section, "may_supervise": scope.is_admin or bool(scope.area_roles.get(Role.SUPERVISOR))}


def _departments() -> list[tuple[Any, str]]:
    return [(d.pk, d.name) for d in department_list()]


@login_required
@require_GET
def dispatch_page(request: HttpRequest) -> HttpResponse:
    _require_dispatcher(request)
    section = request.GET.get("section", "returned")
    if section not in DISPATCH_SECTIONS:
        section = "returned"
    now = timezone.now()
    counts = dispatch_board_counts(actor=request.user, now=now)
    departments = _departments()
    cards = [_card(request, o, departments, section=section, now=now)
             for o in dispatch_board(actor=request.user, section=section, now=now)]
    tabs = [{"key": k, "label": SECTION_LABELS[k], "count": counts[k]} for k in DISPATCH_SECTIONS]
    return render(request, "web/dispatch/page.html", {
        "nav": "dispatch", "section": section, "tabs": tabs, "cards": cards, "bulk_actions": BULK_ACTIONS,
        "bulk": section in {"due_soon", "overdue"},
    })


@login_required
@require_POST
def dispatch_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _require_dispatcher(request)
    spec = ACTIONS.get(action)
    order = workbench_order_get(actor=request.user, order_id=pk)
    if spec is None or order is None or not is_centre_user(request.user, DISPATCH_ROLES):
        raise Http404(_("未找到该工单"))
    departments = _departments()
    kwargs: dict[str, Any] = {"prefix": f"{action}-{pk}"}
    if spec.form is ReassignForm:
        kwargs["departments"] = departments
    form = spec.form(request.POST, **kwargs)
    ok, _result = run_service(form, lambda d: spec.call(request, order, d))
    order = workbench_order_get(actor=request.user, order_id=pk) or order
    section = request.POST.get("section", "returned")
    context = _card(request, order, departments, section=section, bound=None if ok else {action: form},
                    flash=str(spec.done) if ok else "")
    if is_htmx(request):
        return render(request, "web/dispatch/_card.html", context)
    if ok:
        return redirect(f"{reverse('dispatch')}?section={section if section in DISPATCH_SECTIONS else 'returned'}")
    return render(request, "web/dispatch/order.html", {"nav": "dispatch", **context}, status=422)


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=list(BULK_ACTIONS.items()))
    note = forms.CharField(label=gettext_lazy("说明（督办必填）"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


@login_required
@require_POST
def dispatch_bulk(request: HttpRequest) -> HttpResponse:
    """Two steps: the first POST shows what would be done to which orders; the second (``confirm``)
    does it, one service call (one transaction) per order, and reports each result."""
    _require_dispatcher(request)
    form = BulkForm(request.POST)
    orders = centre_orders_by_ids(actor=request.user, ids=request.POST.getlist("ids"))
    section = request.POST.get("section", "overdue")
    context: dict[str, Any] = {"nav": "dispatch", "form": form, "orders": orders, "section": section}
    if not orders:
        context["error"] = _("请先勾选工单")
    elif form.is_valid() and form.cleaned_data["action"] == "supervise" and not form.cleaned_data["note"].strip():
        form.add_error("note", _("督办意见不能为空"))
    if orders and form.is_valid() and request.POST.get("confirm") == "1":
        action, note = form.cleaned_data["action"], form.cleaned_data["note"]
        service = wo.work_order_remind if action == "remind" else wo.work_order_supervise
        results = []
        for order in orders:
            try:
                with transaction.atomic():
                    service(order_id=order.pk, actor=request.user, note=note)
                results.append({"order": order, "ok": True, "message": str(BULK_ACTIONS[action])})
            except ApplicationError as error:
                results.append({"order": order, "ok": False, "message": error.message})
        context["results"] = results
        context["action_label"] = BULK_ACTIONS[action]
    elif orders and form.is_valid():
        context["confirm"] = True
        context["action_label"] = BULK_ACTIONS[form.cleaned_data["action"]]
    template = "web/dispatch/_bulk.html" if is_htmx(request) else "web/dispatch/bulk.html"
    return render(request, template, context)
