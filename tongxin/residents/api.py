"""/api/v1/residents/…: the same resident journey as the phone pages, for an app (channel ``app``).

Authentication is the resident's signed cookie (``tx_resident``, set by ``POST /residents/login``),
never a staff session or token; unsafe methods carry the CSRF header like every cookie-authenticated
call. Errors have the API's one shape, with the field named.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router
from ninja.files import UploadedFile
from ninja.responses import Status
from ninja.security import APIKeyCookie
from ninja.utils import check_csrf

from tongxin.core.errors import PermissionDenied, ValidationFailed
from tongxin.workorders.choices import Channel, Kind

from . import selectors, services
from .choices import CodeKind, CodeState, PointSource
from .schemas import BoardItemOut, CodeOut, LoginCodeIn, LoginIn, LoginOut, RatingIn, RatingOut, RequestOut
from .session import COOKIE, session_claims, session_read, session_start
from .views import client_ip

router = Router(tags=["residents"])
KIND_NAMES: dict[str, str] = {CodeKind.HOUSEHOLD: "household", CodeKind.MERCHANT: "merchant"}


def _require_csrf(request: HttpRequest) -> None:
    """Unsafe methods carry the CSRF header (checked once the cookie is good)."""
    if request.method not in {"GET", "HEAD", "OPTIONS"} and check_csrf(request) is not None:
        raise PermissionDenied(_("CSRF 校验失败：请在请求头 X-CSRFToken 中带上 csrftoken Cookie 的值"), code="csrf_failed")


class ResidentAuth(APIKeyCookie):
    """The resident's signed cookie, confirmed against the database (``request.resident``); CSRF is
    checked on unsafe methods once the cookie is good."""

    param_name = COOKIE
    attribute = "resident"

    def resolve(self, request: HttpRequest) -> Any:
        return session_read(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        found = self.resolve(request)
        if found is None:
            return None
        _require_csrf(request)
        setattr(request, self.attribute, found)
        return found

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)


resident_auth = ResidentAuth(csrf=False)  # CSRF checked in authenticate, after the cookie


class ResidentClaimsAuth(ResidentAuth):
    """The cookie's signature and CSRF only, no query (``request.resident_claims``): for the report
    endpoint, whose one statement confirms the session itself on PostgreSQL (ADR 0011) — a session
    that no longer holds still answers 401, from the service."""

    attribute = "resident_claims"

    def resolve(self, request: HttpRequest) -> Any:
        return session_claims(request)


resident_claims_auth = ResidentClaimsAuth(csrf=False)


def _valid_place(token: str) -> Any:
    resolution = selectors.code_resolve(token)
    if resolution.state != CodeState.VALID:
        raise ValidationFailed(_("二维码无效或已停用"), fields={"token": str(CodeState(resolution.state).label)})
    return resolution.place


@router.get("/residents/codes/{token}", response=CodeOut, auth=None, summary="What a scanned code opens")
def code_get(request: HttpRequest, token: str) -> dict[str, Any]:
    resolution = selectors.code_resolve(token)
    kind = KIND_NAMES[services.code_kind(resolution.place)] if resolution.place is not None else None
    return {"state": resolution.state, "kind": kind}


@router.post("/residents/login/code", response={202: dict}, auth=None, summary="Send a one-time SMS code")
def login_code(request: HttpRequest, payload: LoginCodeIn) -> Status:
    place = _valid_place(payload.token)
    services.login_code_request(place=place, phone=payload.phone, ip=client_ip(request))
    return Status(202, {"message": _("如该手机号已在此登记，验证码已发送")})


@router.post("/residents/login", response=LoginOut, auth=None, summary="Sign in with the SMS code")
def login(request: HttpRequest, response: HttpResponse, payload: LoginIn) -> dict[str, Any]:
    place = _valid_place(payload.token)
    result = services.login_code_verify(place=place, phone=payload.phone, code=payload.code, ip=client_ip(request))
    session_start(response, result)
    return {"kind": KIND_NAMES[result.kind], "place": place.address}


def _request_out(row: selectors.ReportRow) -> dict[str, Any]:
    order = row.order
    return {
        "id": row.report.pk, "receipt": row.report.receipt, "number": order.number or None, "status": order.status,
        "status_label": row.status_label, "title": order.title, "content": order.content,
        "category": order.category.name if order.category else None, "accepted_at": order.accepted_at,
        "reply_text": order.reply_text or "", "replied_at": order.replied_at, "photos": row.report.photos,
        "point_source": row.report.point_source, "can_rate": row.can_rate, "satisfaction": order.satisfaction or None,
    }


@router.get("/residents/requests", response=list[RequestOut], auth=resident_auth, summary="My household's requests")
def request_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_request_out(row) for row in selectors.report_list(place=request.resident.place)]  # type: ignore[attr-defined]


@router.get("/residents/requests/{request_id}", response=RequestOut, auth=resident_auth,
            summary="One of my requests (by the id of the report's first answer)")
def request_get(request: HttpRequest, request_id: int) -> dict[str, Any]:
    return _request_out(selectors.report_get(place=request.resident.place, report_id=request_id))  # type: ignore[attr-defined]


@router.post("/residents/reports", response={201: RequestOut}, auth=resident_claims_auth,
             summary="随手拍: report with up to six photos (multipart); answers the receipt (已收到)")
def report_create(
    request: HttpRequest, content: Form[str], kind: Form[str] = Kind.HELP, lat: Form[float | None] = None,
    lng: Form[float | None] = None, point_source: Form[str] = PointSource.DEVICE, category_code: Form[str] = "",
    photos: File[list[UploadedFile]] = None,  # type: ignore[assignment]
) -> HttpResponse:
    claims = request.resident_claims  # type: ignore[attr-defined]
    report = services.report_create(
        claims=claims, content=content, photos=list(photos or []), kind=kind, lat=lat, lng=lng,
        point_source=point_source, category_code=category_code, channel=Channel.APP,
    )
    # The answer from what was just written (the receipt, or the order inline mode made): no second read,
    # and rendered here rather than validated against RequestOut on the way out (ADR 0011: a tenth of
    # the request's CPU); test_receipt_statement pins this body to the schema.
    from tongxin.api import api  # the API that mounts this router (imported here: it imports us)

    body = _request_out(selectors.report_row(report, report.order if report.order_id else None))
    return api.create_response(request, body, status=201)


@router.post("/residents/requests/{request_id}/rating", response={201: RatingOut}, auth=resident_auth,
             summary="Rate the reply (feeds the callback KPIs); reopen when unsatisfied")
def request_rate(request: HttpRequest, request_id: int, payload: RatingIn) -> Status:
    row = selectors.report_get(place=request.resident.place, report_id=request_id)  # type: ignore[attr-defined]
    rating = services.report_rate(report=row.report, satisfaction=payload.satisfaction, cause=payload.cause,
                                  note=payload.note, reopen=payload.reopen)
    return Status(201, {"satisfaction": rating.satisfaction, "reopened_order_id": rating.reopened_order_id,
                        "reopened_request_id": selectors.report_id_of_order(rating.reopened_order_id)})


@router.get("/residents/board", response=list[BoardItemOut], auth=None, summary="The public board (anonymised)")
def board(request: HttpRequest, category: str = "") -> list[Any]:
    if len(category) > 32:
        raise ValidationFailed(fields={"category": _("分类代码过长")})
    return selectors.board_items(category_code=category)

