"""The first pages: home, the order list and the order page. Thin views over the selectors: every read
of a work order goes through ``work_order_list`` / ``work_order_get``, scoped to the signed-in user, so
an order outside the user's jurisdiction answers 404 exactly like a missing one. Phones and names are
masked on these pages; the order page reveals them on a deliberate click, for the roles that call
citizens back, with an audit row (``workorders.privacy``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.accounts.choices import Role
from tongxin.accounts.models import RoleAssignment
from tongxin.core.errors import NotFound, PermissionDenied
from tongxin.core.masking import mask_name, mask_phone
from tongxin.mediation.selectors import cases_for_work_order
from tongxin.regions.models import Area
from tongxin.regions.selectors import area_ancestor_ids
from tongxin.workorders.choices import Action, AssignmentRole, Status
from tongxin.workorders.models import Category
from tongxin.workorders.privacy import citizen_reveal_role, related_orders, work_order_citizen_reveal
from tongxin.workorders.selectors import (
    WorkOrderFilters,
    order_sla,
    work_order_get,
    work_order_list,
    work_order_timeline,
)

PAGE_SIZE = 25
MAX_QUERY_CHARS = 100


def _role_rows(user: Any) -> list[dict[str, str]]:
    rows = []
    for assignment in RoleAssignment.objects.filter(user=user).select_related("area", "department").order_by("id"):
        scope = assignment.department.name if assignment.department else (assignment.area.name if assignment.area else "")
        rows.append({"role": assignment.role, "label": str(assignment.get_role_display()), "scope": scope})
    return rows


def _links(user: Any, roles: set[str]) -> list[dict[str, str]]:
    links = [{"url": "/orders/", "title": _("工单"), "text": _("查看我管辖范围内的工单")}]
    if roles & {Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR}:
        links.append({"url": "/orders/?status=accepted", "title": _("待派单"), "text": _("已受理、等待派单的工单")})
    if Role.HANDLER in roles:
        links.append({"url": "/orders/?status=dispatched", "title": _("待签收"), "text": _("派给本单位、等待签收的工单")})
        links.append({"url": "/orders/?status=in_progress", "title": _("办理中"), "text": _("本单位正在办理的工单")})
    if Role.SUPERVISOR in roles or Role.LEADER in roles:
        links.append({"url": "/orders/?status=replied", "title": _("待回访"), "text": _("已答复、等待回访的工单")})
    links.append({"url": "/api/v1/docs", "title": _("接口文档"), "text": _("API v1 与 OpenAPI 文档")})
    if user.is_staff:
        links.append({"url": "/admin/", "title": _("管理后台"), "text": _("区划、单位、分类、派单目录、工作日历")})
    return links


@login_required
def home(request: HttpRequest) -> HttpResponse:
    roles = _role_rows(request.user)
    role_set = {r["role"] for r in roles}
    return render(request, "web/home.html", {
        "nav": "home", "roles": roles, "links": _links(request.user, role_set),
    })


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Status.values:
        status = ""
    q = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    filters = WorkOrderFilters(status=[status] if status else None, q=q or None)
    orders = work_order_list(actor=request.user, filters=filters).defer("area__boundary")
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"order": order, "sla": order_sla(order), "name": mask_name(order.citizen_name),
         "phone": mask_phone(order.citizen_phone)}
        for order in page.object_list
    ]
    query = urlencode({k: v for k, v in {"status": status, "q": q}.items() if v})
    return render(request, "web/order_list.html", {
        "nav": "orders", "rows": rows, "page_obj": page, "statuses": Status.choices, "status": status, "q": q,
        "query": f"{query}&" if query else "",
    })


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = work_order_get(actor=request.user, order_id=pk)
    if order is None:
        raise Http404(_("未找到该工单"))
    # Names up the trees from the materialised paths: one small query each, no boundary loaded.
    area_ids = area_ancestor_ids(order.area)
    area_names = dict(Area.objects.filter(pk__in=area_ids).values_list("pk", "name"))
    category_ids = [int(p) for p in order.category.path.strip("/").split("/") if p] if order.category else []
    category_names = dict(Category.objects.filter(pk__in=category_ids).values_list("pk", "name"))
    timeline = []
    for event in work_order_timeline(order):
        status_changed = event.to_status and event.to_status != event.from_status
        timeline.append({
            "at": event.at, "actor_label": event.actor_label, "department": event.department, "note": event.note,
            "action_label": Action(event.action).label if event.action in Action.values else event.action,
            "status_label": Status(event.to_status).label if status_changed and event.to_status in Status.values else "",
        })
    co_departments = [
        a.department.name for a in order.assignments.filter(role=AssignmentRole.CO, active=True).select_related("department")
    ]
    attachments = [
        {"id": a.pk, "name": a.name, "url": a.file.url, "size": a.size, "is_image": a.content_type.startswith("image/"),
         "uploaded_at": a.uploaded_at}
        for a in order.attachments.order_by("uploaded_at", "id")
    ]
    boundary = Area.objects.filter(pk=order.area_id).values_list("boundary", flat=True).first()
    map_data = {"point": [order.lat, order.lng] if order.lat is not None and order.lng is not None else None,
                "boundary": boundary, "area": order.area.name}
    return render(request, "web/order_detail.html", {
        "nav": "orders", "order": order, "sla": order_sla(order), "timeline": timeline,
        "category_path": " / ".join(category_names[i] for i in category_ids if i in category_names),
        "area_path": " / ".join(area_names[i] for i in area_ids if i in area_names),
        "citizen_name": mask_name(order.citizen_name), "citizen_phone": mask_phone(order.citizen_phone),
        "co_departments": co_departments, "attachments": attachments, "map_data": map_data,
        "related": related_orders(actor=request.user, order=order),
        "cases": cases_for_work_order(actor=request.user, order_id=order.pk),
        "can_reveal": bool((order.citizen_name or order.citizen_phone) and not order.anonymous
                           and citizen_reveal_role(actor=request.user, order=order)),
    })


@login_required
@require_POST
def order_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The deliberate click that shows the citizen's full name and phone; audited (403 for a role that
    may see the order but not its citizen, 404 outside the jurisdiction)."""
    try:
        reveal = work_order_citizen_reveal(actor=request.user, order_id=pk)
    except NotFound:
        raise Http404(_("未找到该工单")) from None
    except PermissionDenied as exc:
        return HttpResponse(exc.message, status=403)
    response = render(request, "web/_citizen_revealed.html", {"reveal": reveal})
    response["Cache-Control"] = "no-store"
    return response
