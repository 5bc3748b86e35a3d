"""The resident's phone pages under /r/ (码上生活), and the staff's code printing.

Scan → /r/<token>/: a forged, replaced or revoked code gets a clear page that names nothing; a valid
one asks for the phone and an SMS code (or, already signed in for this place, goes home). Signed in:
随手拍 (report), 我的诉求 (my requests, with the reply and a rating), 公开看板 (the public board). The
pages are plain forms (they work without JavaScript); ``report.js`` keeps the draft on the phone until
the server has confirmed it, sets the point from the phone or a tap on the map.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongxin.core.errors import ApplicationError, Conflict, NotFound
from tongxin.core.masking import mask_phone
from tongxin.web.chips import category_chips
from tongxin.workorders.choices import Channel, Kind, Satisfaction, UnsatisfiedCause
from tongxin.workorders.selectors import intake_category

from . import conf, selectors, services
from .choices import CodeKind, CodeState, PointSource
from .qr import qr_png, qr_svg
from .ratelimit import RateLimited
from .session import ResidentSession, session_end, session_read, session_start

logger = logging.getLogger(__name__)

CODE_STATE_PAGES: dict[str, tuple[int, Any, Any]] = {
    CodeState.FORGED: (404, _("二维码无效"), _("无法识别这个二维码。请确认扫描的是社区张贴在您家门口或店铺的二维码。")),
    CodeState.REPLACED: (410, _("二维码已更换"), _("这个二维码已经更换为新的二维码。请扫描社区新张贴的二维码，或联系网格员。")),
    CodeState.REVOKED: (410, _("二维码已停用"), _("这个二维码已停用。如需继续使用，请联系所在社区或网格员重新发放。")),
}


def client_ip(request: HttpRequest) -> str:
    # Behind the reverse proxy (docs/deploy.md) REMOTE_ADDR is the proxy unless it sets it from the client.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _code_error(request: HttpRequest, state: str) -> HttpResponse:
    status, title, text = CODE_STATE_PAGES[state]
    response = render(request, "residents/code_error.html", {"title": title, "text": text}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def resident_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session = session_read(request)
        if session is None:
            response = render(request, "residents/need_login.html", status=401)
            response["Cache-Control"] = "no-store"
            return response
        request.resident = session  # type: ignore[attr-defined]
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper


def _not_found(request: HttpRequest) -> HttpResponse:
    """The resident's 404: the same for a request of another household as for one that does not exist."""
    response = render(request, "residents/not_found.html", {"session": getattr(request, "resident", None)}, status=404)
    response["Cache-Control"] = "private, no-store"
    return response


def _place_label(place: Any) -> str:
    """What the signed-in resident sees of their place: their own address (never shown before login)."""
    return place.address if hasattr(place, "address") else str(place)


# --- scan and sign in ---------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def landing(request: HttpRequest, token: str) -> HttpResponse:
    resolution = selectors.code_resolve(token)
    if resolution.state != CodeState.VALID:
        return _code_error(request, resolution.state)
    place = resolution.place
    assert place is not None  # a valid code always names its place
    session = session_read(request)
    if request.method == "GET" and session is not None and session.place == place and session.kind == services.code_kind(place):
        return redirect("residents:home")
    context: dict[str, Any] = {"token": token, "phone": "", "errors": {}, "sent": False, "message": "",
                               "kind_label": _("商户") if services.code_kind(place) == CodeKind.MERCHANT else _("住户"),
                               "code_seconds": conf.login_code_seconds()}
    status = 200
    if request.method == "POST":
        context["phone"] = (request.POST.get("phone") or "").strip()[:20]
        action = request.POST.get("action")
        if action != "login" and re.fullmatch(r"\s*[0-9]{6}\s*", request.POST.get("code") or ""):
            # Enter in the code field submits the form with its first button (获取验证码): a typed code
            # means the resident wants to sign in.
            action = "login"
        try:
            if action == "send":
                services.login_code_request(place=place, phone=context["phone"], ip=client_ip(request))
                context["sent"] = True
                context["message"] = _("如该手机号已在此登记，验证码已通过短信发送，请查收。")
            else:
                login = services.login_code_verify(place=place, phone=context["phone"],
                                                   code=request.POST.get("code", ""), ip=client_ip(request))
                response = redirect("residents:home")
                session_start(response, login)
                return response
        except ApplicationError as exc:
            context["errors"] = exc.fields
            context["message"] = exc.message
            context["sent"] = action != "send"
            status = exc.status
    return render(request, "residents/landing.html", context, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    response = render(request, "residents/logged_out.html")
    session_end(response)
    return response


@resident_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    session: ResidentSession = request.resident  # type: ignore[attr-defined]
    rows = selectors.report_list(place=session.place, limit=5)
    return render(request, "residents/home.html", {"session": session, "place_label": _place_label(session.place),
                                                   "rows": rows, "to_rate": sum(1 for r in rows if r.can_rate),
                                                   "tab": "home"})


# --- 随手拍 ---------------------------------------------------------------------------------------

def _report_context(session: ResidentSession, values: dict[str, str], errors: dict[str, Any]) -> dict[str, Any]:
    area = session.place.area
    category = intake_category(values["category_code"]) if values.get("category_code") else None
    return {
        "session": session, "values": values, "errors": errors, "category": category, "tab": "report",
        "kinds": [(k.value, k.label) for k in services.RESIDENT_KINDS], "max_photos": conf.MAX_PHOTOS,
        "max_mb": conf.MAX_PHOTO_BYTES // (1024 * 1024),
        "draft_key": f"tx-report-draft:{session.kind}{session.place.pk}",
        "map_data": json.dumps({"boundary": area.boundary,
                                "center": [area.center_lat, area.center_lng] if area.center_lat else None}),
    }


@resident_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    session: ResidentSession = request.resident  # type: ignore[attr-defined]
    fields = ("content", "kind", "lat", "lng", "point_source", "category_code", "category_suggested")
    values = {name: str(request.POST.get(name, "") or "")[:4000] for name in fields}
    values.setdefault("kind", Kind.HELP)
    values["kind"] = values["kind"] or Kind.HELP
    if request.method == "GET":
        return render(request, "residents/report.html", _report_context(session, values, {}))
    try:
        created = services.report_create(
            reporter=session.reporter(), content=values["content"], photos=request.FILES.getlist("photos"),
            kind=values["kind"], lat=values["lat"] or None, lng=values["lng"] or None,
            point_source=values["point_source"] or PointSource.DEVICE, category_code=values["category_code"],
            category_suggested=values["category_suggested"], channel=Channel.QR,
        )
    except ApplicationError as exc:
        errors = dict(exc.fields)
        if not errors or isinstance(exc, RateLimited):
            errors["form"] = exc.message
        context = _report_context(session, values, errors)
        context["posted"] = True
        return render(request, "residents/report.html", context, status=exc.status)
    return redirect(reverse("residents:request_detail", args=[created.pk]) + "?submitted=1")


@resident_required
@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    """The category suggestion beside the text (htmx): nothing at all when the classifier is away."""
    return render(request, "residents/_suggest.html", {"chips": category_chips(request.GET.get("content"))})


# --- my requests ------------------------------------------------------------------------------------

@resident_required
@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    session: ResidentSession = request.resident  # type: ignore[attr-defined]
    return render(request, "residents/requests.html", {"session": session, "tab": "requests",
                                                       "rows": selectors.report_list(place=session.place)})


def _detail_context(session: ResidentSession, row: Any, **extra: Any) -> dict[str, Any]:
    order = row.order
    from datetime import timedelta

    from django.utils import timezone

    reopen_open = bool(order.replied_at and timezone.now() <= order.replied_at + timedelta(days=conf.reopen_days()))
    rating = getattr(row.report, "rating", None)
    reopened_request = selectors.report_id_of_order(rating.reopened_order_id) if rating is not None else None
    return {
        "session": session, "row": row, "order": order, "tab": "requests",
        "satisfactions": Satisfaction.choices, "causes": UnsatisfiedCause.choices,
        "reopen_days": conf.reopen_days(), "reopen_open": reopen_open,
        "draft_key": f"tx-report-draft:{session.kind}{session.place.pk}",
        "phone_masked": mask_phone(row.report.phone), "reopened_request": reopened_request, **extra,
    }


@resident_required
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session: ResidentSession = request.resident  # type: ignore[attr-defined]
    try:
        row = selectors.report_get(place=session.place, report_id=pk)
    except NotFound:
        return _not_found(request)
    return render(request, "residents/request_detail.html",
                  _detail_context(session, row, submitted=request.GET.get("submitted") == "1", errors={}))


@resident_required
@require_POST
def request_rate(request: HttpRequest, pk: int) -> HttpResponse:
    session: ResidentSession = request.resident  # type: ignore[attr-defined]
    try:
        row = selectors.report_get(place=session.place, report_id=pk)
    except NotFound:
        return _not_found(request)
    try:
        rating = services.report_rate(
            report=row.report, satisfaction=request.POST.get("satisfaction", ""),
            cause=request.POST.get("cause", ""), note=request.POST.get("note", ""),
            reopen=request.POST.get("reopen") == "1",
        )
    except ApplicationError as exc:
        errors = dict(exc.fields) or {"form": exc.message}
        return render(request, "residents/request_detail.html", _detail_context(session, row, errors=errors),
                      status=exc.status)
    target = selectors.report_id_of_order(rating.reopened_order_id) or pk
    return redirect(reverse("residents:request_detail", args=[target]) + ("?reopened=1" if rating.reopened_order_id else "?rated=1"))


# --- the public board ------------------------------------------------------------------------------------

@require_GET
def board(request: HttpRequest) -> HttpResponse:
    code = (request.GET.get("category") or "").strip()[:32]
    try:
        items, categories = selectors.board_items(category_code=code, limit=300), selectors.board_categories()
    except Conflict:  # the residents' channel is not configured yet: an empty board, not an error page
        items, categories = [], []
    return render(request, "residents/board.html", {
        "session": session_read(request), "tab": "board", "items": items[:50], "count": len(items), "category": code, "categories": categories,
        "data_url": reverse("residents:board_data") + (f"?category={code}" if code else ""),
        "outlines_url": reverse("residents:board_outlines"),
    })


@require_GET
def board_data(request: HttpRequest) -> JsonResponse:
    code = (request.GET.get("category") or "").strip()[:32]
    items = selectors.board_items(category_code=code)
    response = JsonResponse({"items": [i.__dict__ for i in items]}, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=60"
    return response


@require_GET
def board_outlines(request: HttpRequest) -> JsonResponse:
    """The district outlines drawn under the board's points (simplified GeoJSON, public)."""
    response = JsonResponse(selectors.board_outlines(), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=3600"
    return response


# --- staff: printing codes ----------------------------------------------------------------------------------

def _staff_place(request: HttpRequest, kind: str, pk: int) -> Any:
    model = selectors.Household if kind == CodeKind.HOUSEHOLD else selectors.Merchant
    place = selectors.places_manageable_by(request.user, model).filter(pk=pk).first()
    if place is None or place.code_revoked_at is not None:
        raise Http404(_("未找到"))
    return place


@login_required
@require_GET
def code_image(request: HttpRequest, kind: str, pk: int, fmt: str) -> HttpResponse:
    """A place's current code as PNG or SVG (staff of its area only; others 404)."""
    if kind not in CodeKind.values or fmt not in {"png", "svg"}:
        raise Http404()
    place = _staff_place(request, kind, pk)
    url = services.code_url(place, base=conf.public_base_url(request.build_absolute_uri("/")))
    if fmt == "png":
        response = HttpResponse(qr_png(url), content_type="image/png")
    else:
        response = HttpResponse(qr_svg(url), content_type="image/svg+xml")
    response["Content-Disposition"] = f'inline; filename="code-{kind}{pk}-v{place.code_version}.{fmt}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def staff_codes(request: HttpRequest) -> HttpResponse:
    """The staff's index of printable codes: every building in their areas, with its print sheet."""
    buildings = selectors.buildings_manageable_by(request.user)
    if not buildings and not selectors.places_manageable_by(request.user, selectors.Household).exists():
        raise Http404()
    return render(request, "residents/staff_codes.html", {"buildings": buildings})


@login_required
@require_GET
def print_sheet(request: HttpRequest, area_id: int, building: str) -> HttpResponse:
    """One A4 page (or more, 12 to a page) of a building's labelled codes, ready to print."""
    try:
        households = selectors.building_households(actor=request.user, area_id=area_id, building=building)
    except NotFound:
        raise Http404(_("未找到该楼栋")) from None
    base = conf.public_base_url(request.build_absolute_uri("/"))
    labels = [{"household": h, "svg": qr_svg(services.code_url(h, base=base), scale=3, xml_decl=False)}
              for h in households]
    pages = [labels[i:i + 12] for i in range(0, len(labels), 12)]
    response = render(request, "residents/print_sheet.html", {
        "pages": pages, "area": households[0].area, "building": building, "count": len(labels)})
    response["Cache-Control"] = "private, no-store"
    return response

