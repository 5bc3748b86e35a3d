"""承办台: a handler department's queue by tab, and the department's actions on each order (sign,
return, request an extension, reply with attachments, co-handlers' reply to the lead). Reads through
``workorders.queues`` (scoped to the user's departments), writes through ``workorders.services``."""

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
from tongxin.workorders.queues import (
    QUEUE_TABS,
    department_queue,
    department_queue_counts,
    handler_department_ids,
    workbench_order_get,
)

from .workbench import (
    CardAction,
    CoReplyForm,
    ExtensionForm,
    ReplyForm,
    ReturnForm,
    SignForm,
    card_facts,
    is_htmx,
    run_service,
)

TAB_LABELS = {
    "to_sign": gettext_lazy("待签收"), "in_progress": gettext_lazy("办理中"),
    "awaiting_co": gettext_lazy("待协办回复"), "returned": gettext_lazy("被退回"), "done": gettext_lazy("已办结"),
}


def _reply(request: HttpRequest, order: Any, d: dict[str, Any]) -> Any:
    # Attachments and the reply in one transaction (run_service's): a refused reply keeps no attachment.
    ids = [wo.attachment_add(order_id=order.pk, actor=request.user, upload=f).pk for f in d["files"]]
    return wo.work_order_reply(order_id=order.pk, actor=request.user, text=d["text"], attachment_ids=ids,
                               version=d["version"])


ACTIONS: dict[str, CardAction] = {
    "sign": CardAction(SignForm, lambda r, o, d: wo.work_order_sign(
        order_id=o.pk, actor=r.user, note=d["note"], version=d["version"]), gettext_lazy("已签收，工单转入办理中")),
    "return": CardAction(ReturnForm, lambda r, o, d: wo.work_order_return(
        order_id=o.pk, actor=r.user, reason=d["reason"], note=d["note"], version=d["version"]),
        gettext_lazy("已退单，等待中心审核")),
    "extend": CardAction(ExtensionForm, lambda r, o, d: wo.work_order_request_extension(
        order_id=o.pk, actor=r.user, requested_due_at=d["requested_due_at"], reason=d["reason"],
        version=d["version"]), gettext_lazy("延期申请已提交，等待中心审批")),
    "reply": CardAction(ReplyForm, _reply, gettext_lazy("已办结答复，等待回访")),
    "co_reply": CardAction(CoReplyForm, lambda r, o, d: wo.work_order_co_reply(
        order_id=o.pk, actor=r.user, text=d["text"], version=d["version"]), gettext_lazy("协办答复已提交给主办单位")),
}


def _forms(order: Any, bound: dict[str, forms.Form] | None = None) -> dict[str, forms.Form]:
    bound = bound or {}
    return {name: bound.get(name) or spec.form(prefix=f"{name}-{order.pk}", initial={"version": order.version})
            for name, spec in ACTIONS.items()}


def _card(request: HttpRequest, order: Any, *, bound: dict[str, forms.Form] | None = None, flash: str = "",
          now: Any = None) -> dict[str, Any]:
    return {"o": order, "f": card_facts(order, actor=request.user, now=now), "forms": _forms(order, bound),
            "flash": flash,
            "card_errors": [e for form in (bound or {}).values() for e in form.non_field_errors()]}


def _require_handler(request: HttpRequest) -> None:
    if not handler_department_ids(request.user):
        raise Http404(_("您不是承办单位的承办人"))


@login_required
@require_GET
def queue_page(request: HttpRequest) -> HttpResponse:
    _require_handler(request)
    tab = request.GET.get("tab", "to_sign")
    if tab not in QUEUE_TABS:
        tab = "to_sign"
    counts = department_queue_counts(actor=request.user)
    now = timezone.now()
    cards = [_card(request, order, now=now) for order in department_queue(actor=request.user, tab=tab)]
    tabs = [{"key": key, "label": TAB_LABELS[key], "count": counts[key]} for key in QUEUE_TABS]
    return render(request, "web/queue/page.html", {"nav": "queue", "tab": tab, "tabs": tabs, "cards": cards})


@login_required
@require_POST
def queue_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _require_handler(request)
    spec = ACTIONS.get(action)
    order = workbench_order_get(actor=request.user, order_id=pk)
    if spec is None or order is None:
        raise Http404(_("未找到该工单"))
    form = spec.form(request.POST, request.FILES, prefix=f"{action}-{pk}")
    ok, _result = run_service(form, lambda d: spec.call(request, order, d))
    order = workbench_order_get(actor=request.user, order_id=pk) or order
    context = _card(request, order, bound=None if ok else {action: form}, flash=str(spec.done) if ok else "")
    if is_htmx(request):
        return render(request, "web/queue/_card.html", context)
    if ok:
        return redirect(f"{reverse('queue')}?tab={request.POST.get('tab', 'to_sign')}")
    return render(request, "web/queue/order.html", {"nav": "queue", **context}, status=422)
