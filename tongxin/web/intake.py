"""The operator's intake console (受理台): record a call once and dispatch it, in under a minute.

One page, one form. While the operator types, a single htmx request (``intake_assist``, debounced)
brings up beside the form what helps decide: the caller's earlier requests (来电历史), the classifier's
top three categories with confidences (pre-selected only above the threshold), open requests that may
be the same one (candidate duplicates, with reasons and a one-click merge), and knowledge-base answers
that can resolve the call on the spot. The map (Leaflet, district boundaries, no tiles) sets the point.

Saving goes through the work-order services in one transaction: create, then — by the button pressed —
nothing more (and on to the dispatch step), resolve on the call with an answer, transfer to 110, or
merge into the chosen original. A rejected form comes back with each reason beside its field and
everything typed kept. The dispatch step shows the suggestion (the catalogue, else what similar past
orders taught) and dispatches with one click; any other department can be chosen instead.

Only the centre's intake roles (operator, dispatcher, supervisor; admins) see these pages; others get 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongxin.accounts.choices import Role
from tongxin.accounts.models import Department
from tongxin.accounts.selectors import actor_scope
from tongxin.core.errors import ApplicationError, ValidationFailed
from tongxin.core.masking import mask_name, mask_phone
from tongxin.insight.duplicates import duplicate_candidates_for_draft
from tongxin.insight.selectors import ClassifierUnavailable, classify
from tongxin.insight.suggest import department_suggest
from tongxin.regions.selectors import area_get_by_code, area_locate, area_root
from tongxin.workorders.choices import TERMINAL_STATUSES, Channel, Kind, Status, Urgency
from tongxin.workorders.lookups import (
    area_children,
    category_by_code,
    category_search,
    knowledge_get,
    knowledge_search,
)
from tongxin.workorders.selectors import work_order_caller_history, work_order_get
from tongxin.workorders.services import (
    PHONE_RE,
    work_order_create,
    work_order_dispatch,
    work_order_merge,
    work_order_resolve_on_call,
    work_order_transfer_police,
)

INTAKE_PAGE_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
FIELDS = ("citizen_phone", "citizen_name", "channel", "kind", "urgency", "title", "content", "category_code",
          "address", "area_code", "lat", "lng", "resolve_text", "knowledge_article_id", "merge_into", "police_note")
INTENTS = ("save", "resolve", "police", "merge")
# Channels an operator records by hand (the others arrive through their own doors: app, QR, Open311…).
DESK_CHANNELS = (Channel.HOTLINE, Channel.WEB, Channel.WALK_IN)


def _require_intake(request: HttpRequest) -> Any:
    if not actor_scope(request.user).roles & INTAKE_PAGE_ROLES:
        raise Http404(_("未找到该页面"))
    return request.user


def _float(value: Any) -> float | None:
    try:
        return float(value) if str(value).strip() else None
    except (TypeError, ValueError):
        return None


def _form_values(data: Any) -> dict[str, str]:
    values = {name: str(data.get(name, "") or "")[:20000] for name in FIELDS}
    values["anonymous"] = "1" if data.get("anonymous") else ""
    return values


def _choices(values: dict[str, str]) -> dict[str, Any]:
    root = area_root()
    category = category_by_code(values["category_code"]) if values.get("category_code") else None
    area = area_get_by_code(values["area_code"]) if values.get("area_code") else None
    return {
        "channels": [(c.value, c.label) for c in DESK_CHANNELS],
        "kinds": Kind.choices, "urgencies": Urgency.choices,
        "districts": area_children(root.code) if root else [],
        "root": root, "category": category, "area": area,
    }


@login_required
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest) -> HttpResponse:
    actor = _require_intake(request)
    values = _form_values(request.POST) if request.method == "POST" else {
        **dict.fromkeys(FIELDS, ""), "anonymous": "", "channel": Channel.HOTLINE, "kind": Kind.HELP,
        "urgency": Urgency.NORMAL,
    }
    errors: dict[str, str] = {}
    form_error = ""
    if request.method == "POST":
        intent = request.POST.get("intent", "save")
        if intent not in INTENTS:
            intent = "save"
        try:
            order = _save(actor, values, intent)
        except ValidationFailed as exc:
            errors = {k: str(v) for k, v in exc.fields.items()}
            form_error = exc.message
        except ApplicationError as exc:
            form_error = exc.message
        else:
            if intent == "save":
                return redirect("intake_dispatch", pk=order.pk)
            done = {
                "resolve": _("工单 %(number)s 已直接办结，等待回访"),
                "police": _("工单 %(number)s 已记录并转 110"),
                "merge": _("工单 %(number)s 已并入原工单"),
            }[intent]
            messages.success(request, done % {"number": order.number})
            return redirect("intake")
    status = 422 if form_error else 200
    return render(request, "web/intake/console.html", {
        "nav": "intake", "values": values, "errors": errors, "form_error": form_error, **_choices(values),
    }, status=status)


def _save(actor: Any, values: dict[str, str], intent: str) -> Any:
    """Everything one press of a button does, in one transaction: nothing is half-written."""
    fields: dict[str, str] = {}
    if intent == "resolve" and not values["resolve_text"].strip():
        fields["resolve_text"] = _("直接办结需要填写答复内容（可从知识库选用）")
    if intent == "merge" and not values["merge_into"].strip().isdigit():
        fields["merge_into"] = _("请先在疑似重复工单中选择要并入的原工单")
    if intent == "police" and not values["police_note"].strip():
        fields["police_note"] = _("转 110 需要填写移交说明")
    # The cheap checks of every field at once (the service stops at the first): the operator fixes all
    # of them in one go.
    if not values["content"].strip():
        fields["content"] = _("诉求内容不能为空")
    phone = values["citizen_phone"].strip().replace(" ", "")
    if phone and not values["anonymous"] and not PHONE_RE.match(phone):
        fields["citizen_phone"] = _("电话号码格式不正确")
    for name, label in (("lat", _("纬度")), ("lng", _("经度"))):
        if values[name].strip() and _float(values[name]) is None:
            fields[name] = _("%(label)s必须是数字") % {"label": label}
    if fields:
        raise ValidationFailed(fields=fields)
    lat, lng = _float(values["lat"]), _float(values["lng"])
    with transaction.atomic():
        order = work_order_create(
            actor=actor, channel=values["channel"] or Channel.HOTLINE, kind=values["kind"], urgency=values["urgency"],
            content=values["content"], title=values["title"], category_code=values["category_code"] or None,
            lat=lat if lng is not None else None, lng=lng if lat is not None else None,
            crs="wgs84" if lat is not None and lng is not None else None, address=values["address"],
            area_code=values["area_code"] or None, citizen_name=values["citizen_name"],
            citizen_phone=values["citizen_phone"], anonymous=bool(values["anonymous"]),
        )
        if intent == "resolve":
            article = knowledge_get(values["knowledge_article_id"]) if values["knowledge_article_id"] else None
            order = work_order_resolve_on_call(order_id=order.pk, actor=actor, text=values["resolve_text"],
                                               knowledge_article_id=article.pk if article else None)
        elif intent == "police":
            order = work_order_transfer_police(order_id=order.pk, actor=actor, note=values["police_note"])
        elif intent == "merge":
            order = work_order_merge(order_id=order.pk, actor=actor, into_id=int(values["merge_into"]),
                                     note="受理时发现重复，并入原工单")
    return order


# --- the assist panel: caller history, classification, duplicates, knowledge -----------------------

@login_required
@require_POST
def intake_assist(request: HttpRequest) -> HttpResponse:
    actor = _require_intake(request)
    values = _form_values(request.POST)
    text = f"{values['title']} {values['content']}".strip()
    phone = values["citizen_phone"].strip().replace(" ", "")
    history = [
        {"order": order, "open": order.status not in TERMINAL_STATUSES}
        for order in (work_order_caller_history(actor=actor, phone=phone, limit=8) if len(phone) >= 5 else [])
    ]
    classification: dict[str, Any] | None = None
    classifier_error = ""
    if len(values["content"].strip()) >= 4:
        try:
            classification = classify(text=values["content"][:2000], title=values["title"][:200])
        except ClassifierUnavailable as exc:
            classifier_error = exc.message
    lat, lng = _float(values["lat"]), _float(values["lng"])
    area = None
    if lat is not None and lng is not None:
        area = area_locate(lng, lat)
    elif values["area_code"]:
        area = area_get_by_code(values["area_code"])
    category = category_by_code(values["category_code"]) if values["category_code"] else None
    duplicates = []
    if text or phone:
        candidates = duplicate_candidates_for_draft(
            actor=actor, text=text, phone=phone, lat=lat, lng=lng, area_path=area.path if area else "",
            area_id=area.pk if area else None, category_id=category.id if category else None,
        )
        for c in candidates[:5]:
            order = c.request.extra["order"]
            duplicates.append({"order": order, "score": c.score, "reasons": c.reasons})
    knowledge = knowledge_search(text, limit=4) if len(text) >= 4 else []
    return render(request, "web/intake/_assist.html", {
        "history": history, "classification": classification, "classifier_error": classifier_error,
        "duplicates": duplicates, "knowledge": knowledge, "phone_masked": mask_phone(phone),
        "chosen_category": values["category_code"],
    })


@login_required
@require_GET
def intake_categories(request: HttpRequest) -> HttpResponse:
    _require_intake(request)
    q = request.GET.get("category_q", "")[:50]
    return render(request, "web/intake/_categories.html", {"hits": category_search(q, limit=12), "q": q})


@login_required
@require_GET
def intake_areas(request: HttpRequest) -> HttpResponse:
    """The next level of the area picker: options for the select that follows the one changed."""
    _require_intake(request)
    parent = request.GET.get("parent", "")[:32]
    level = request.GET.get("level", "")[:12]
    return render(request, "web/intake/_area_options.html", {
        "areas": area_children(parent) if parent else [], "level": level,
    })


# --- the dispatch step ----------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def intake_dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _require_intake(request)
    order = work_order_get(actor=actor, order_id=pk)
    if order is None:
        raise Http404(_("未找到该工单"))
    errors: dict[str, str] = {}
    form_error = ""
    chosen_lead = request.POST.get("lead_department_id", "")
    chosen_co = request.POST.getlist("co_department_ids")
    if request.method == "POST":
        try:
            version = int(request.POST.get("version", "") or order.version)
        except ValueError:
            version = order.version
        try:
            work_order_dispatch(order_id=order.pk, actor=actor, lead_department_id=chosen_lead or None,
                                co_department_ids=[c for c in chosen_co if c], note=request.POST.get("note", "")[:500],
                                version=version)
        except ValidationFailed as exc:
            errors = {k.split("[")[0]: str(v) for k, v in exc.fields.items()}
            form_error = exc.message
        except ApplicationError as exc:
            form_error = exc.message
        else:
            lead_id = chosen_lead or order.lead_department_id
            lead = Department.objects.filter(pk=lead_id).first() if lead_id else None
            messages.success(request, _("工单 %(number)s 已派给 %(dept)s") % {
                "number": order.number, "dept": lead.name if lead else "—"})
            return redirect("intake")
        order = work_order_get(actor=actor, order_id=pk) or order
    suggestion = department_suggest(category_id=order.category_id, area_path=order.area_path)
    if not chosen_lead and suggestion.department_id:
        chosen_lead = str(suggestion.department_id)
        chosen_co = [str(d) for d in suggestion.co_department_ids]
    departments = list(Department.objects.filter(active=True).order_by("kind", "name").values("id", "name", "kind"))
    names = {d["id"]: d["name"] for d in departments}
    return render(request, "web/intake/dispatch.html", {
        "nav": "intake", "order": order, "suggestion": suggestion,
        "suggested_lead": names.get(suggestion.department_id or 0, ""),
        "suggested_co": [names[d] for d in suggestion.co_department_ids if d in names],
        "departments": departments, "chosen_lead": chosen_lead, "chosen_co": set(chosen_co),
        "errors": errors, "form_error": form_error, "can_dispatch": order.status in (Status.ACCEPTED,),
        "citizen_name": mask_name(order.citizen_name), "citizen_phone": mask_phone(order.citizen_phone),
    }, status=422 if form_error else 200)
