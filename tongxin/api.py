"""The JSON API root: /api/v1, OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs.

One error shape everywhere: ``{"code": "...", "message": "...", "fields": {...}}``. Authentication:
the session (pages, with CSRF) or ``Authorization: Bearer tx_...`` (programs).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from tongxin.accounts.services import api_token_authenticate
from tongxin.core.errors import ApplicationError, PermissionDenied


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """Django's session cookie; unsafe methods must carry the CSRF token (header X-CSRFToken).

    CSRF is checked only once a session user is known: a request with no session (a program whose
    token was wrong, or nobody at all) answers 401, not a misleading CSRF error."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise PermissionDenied(
                _("CSRF 校验失败：使用登录会话调用接口时，请在请求头 X-CSRFToken 中带上 csrftoken Cookie 的值"),
                code="csrf_failed",
            )
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


api = NinjaAPI(
    title="tongxin 同心 API",
    version="1",
    description="12345 work orders and the city's governance data. Errors: {code, message, fields}.",
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api-v1",
)


def _error(request: HttpRequest, status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "fields": fields or {}}, status=status)


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for error in exc.errors:
        fields.setdefault(_field_key(error.get("loc", ())), _translate(error))
    return _error(request, 422, "validation_error", _("提交的内容有误，请检查标出的字段"), fields)


def _field_key(loc: Any) -> str:
    """("body", "payload", "co_department_ids", 0) -> "co_department_ids[0]", as the services name fields:
    Ninja puts the source first, then the body parameter (always called ``payload`` in our views)."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "form", "file", "header", "cookie"}:
        parts = parts[1:]
    if parts and parts[0] == "payload":
        parts = parts[1:]
    key = ""
    for part in parts:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "body"


def _translate(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if "expected" in ctx:  # pydantic's English list: "'a', 'b' or 'c'"
        ctx = {**ctx, "expected": str(ctx["expected"]).replace(" or ", ", ")}
    messages = {
        "missing": _("必填"),
        "string_too_long": _("不能超过 %(max)s 个字符") % {"max": ctx.get("max_length")},
        "string_too_short": _("至少 %(min)s 个字符") % {"min": ctx.get("min_length")},
        "int_parsing": _("必须是整数"),
        "float_parsing": _("必须是数字"),
        "bool_parsing": _("必须是 true 或 false"),
        "datetime_parsing": _("日期时间格式无效（ISO 8601）"),
        "datetime_from_date_parsing": _("日期时间格式无效（ISO 8601）"),
        "timezone_aware": _("日期时间必须带时区"),
        "enum": _("无效的取值，可选：%(expected)s") % {"expected": ctx.get("expected", "")},
        "literal_error": _("无效的取值，可选：%(expected)s") % {"expected": ctx.get("expected", "")},
        "greater_than_equal": _("不能小于 %(min)s") % {"min": ctx.get("ge")},
        "less_than_equal": _("不能大于 %(max)s") % {"max": ctx.get("le")},
        "too_long": _("最多 %(max)s 项") % {"max": ctx.get("max_length")},
        "json_invalid": _("JSON 格式无效"),
        "model_attributes_type": _("请求体必须是 JSON 对象"),
        "dict_type": _("必须是对象"),
        "list_type": _("必须是数组"),
        "string_type": _("必须是字符串"),
        "extra_forbidden": _("未知字段"),
        "int_from_float": _("必须是整数"),
        "date_parsing": _("日期格式无效（YYYY-MM-DD）"),
        "date_from_datetime_parsing": _("日期格式无效（YYYY-MM-DD）"),
        "finite_number": _("必须是有限数字"),
        "value_error": _("取值无效"),
    }
    return messages.get(kind) or str(error.get("msg", _("无效")))


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", _("请先登录或提供有效的接口令牌"))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("未找到该记录"))


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
             409: "conflict", 413: "too_large", 429: "rate_limited"}
    message = str(exc.message)
    if exc.status_code == 400 and message.startswith("Cannot parse request body"):
        # Ninja's words for a body that is not JSON.
        return _error(request, 400, "invalid_json", _("请求体不是有效的 JSON"), {"body": _("JSON 格式无效")})
    return _error(request, exc.status_code, codes.get(exc.status_code, "error"), message)


@api.exception_handler(RequestDataTooBig)
def request_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
    return _error(request, 413, "too_large", _("请求体过大，不能超过 %(limit_mb)s MB") % {"limit_mb": format(limit_mb, "g")}, {"body": _("超过 %(limit_mb)s MB") % {"limit_mb": format(limit_mb, "g")}})


@api.exception_handler(TooManyFieldsSent)
def too_many_fields(request: HttpRequest, exc: TooManyFieldsSent) -> HttpResponse:
    return _error(request, 413, "too_large", _("提交的字段过多"), {"body": _("字段过多")})


@api.exception_handler(TooManyFilesSent)
def too_many_files(request: HttpRequest, exc: TooManyFilesSent) -> HttpResponse:
    return _error(request, 413, "too_large", _("上传的文件过多"), {"file": _("文件过多")})


@api.exception_handler(MultiPartParserError)
def bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    return _error(request, 400, "bad_request", _("上传的表单格式无效"), {"body": _("multipart/form-data 格式无效")})


def _register_routers() -> None:
    from tongxin.accounts.api import router as accounts_router
    from tongxin.insight.api import router as insight_router
    from tongxin.mediation.api import router as mediation_router
    from tongxin.regions.api import router as regions_router
    from tongxin.residents.api import router as residents_router
    from tongxin.workorders.api import router as workorders_router

    api.add_router("/", workorders_router)
    api.add_router("/", regions_router)
    api.add_router("/", accounts_router)
    api.add_router("/", insight_router)
    api.add_router("/", residents_router)
    api.add_router("/", mediation_router)
    api.add_router("/", "tongxin.points.api.router")  # points: docs/points.md
    api.add_router("/", "tongxin.participation.api.router")  # participation: docs/participation.md
    api.add_router("/", "tongxin.grids.api.router")  # grids: docs/grids.md
    api.add_router("/", "tongxin.grids.roster_api.router")  # the grid roster under /regions/: docs/regions.md


_register_routers()
