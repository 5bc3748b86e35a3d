"""The GeoReport v2 endpoints under /open311/v2/ (docs/open311.md).

Every endpoint goes through ``endpoint``: the format extension (``.xml`` or ``.json``, anything else
404), the method (405), strict UTF-8 decoding of the query string and the form body (400), the
optional ``jurisdiction_id`` (404 when it is not ours), the ``api_key`` (required for POST, checked
when given on GET: 403) and its rate limit (429). Errors use the specification's ``errors`` document
in the requested format. Views then parse, call one selector or service, and shape the document.
"""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from tongxin.core.errors import ApplicationError
from tongxin.workorders.choices import Action, Status

from . import selectors, services
from .models import LIST_DATATYPES, ApiKey
from .renderers import FORMATS, render, render_errors
from .services import Open311Error, Params

MAX_SPAN = timedelta(days=90)
MAX_IDS = 200
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
UPDATES_SPECIFICATION = "https://github.com/mysociety/fixmystreet/wiki/Open311-FMS---Proposed-differences-to-Open311"
# The date this endpoint's contract last changed (the discovery document's changeset).
CHANGESET = "2026-11-23T00:00:00+08:00"
MAX_FIELDS = 1000


# --- request decoding --------------------------------------------------------------------------------

def _decode_pairs(raw: bytes, name: str) -> list[tuple[str, str]]:
    """application/x-www-form-urlencoded bytes → pairs, strictly UTF-8 (raw bytes and %-escapes)."""
    try:
        text = raw.decode("utf-8")
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                                       max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise Open311Error(400, f"{name}：内容不是有效的 UTF-8 编码（本接口只接受 UTF-8）") from None
    except ValueError:
        raise Open311Error(400, f"{name}：参数过多（最多 {MAX_FIELDS} 个）") from None
    _refuse_nul(pairs, name)
    return pairs


def _refuse_nul(pairs: list[tuple[str, str]], name: str) -> None:
    """NUL is not text (and PostgreSQL refuses it even as a lookup value): the whole request is refused.
    Other control characters are dropped from the texts later."""
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise Open311Error(400, f"{name}：参数「{key.replace(chr(0), '')[:40]}」含有 NUL 字符")


def _query(request: HttpRequest) -> Params:
    raw = request.META.get("QUERY_STRING", "")
    raw_bytes = raw.encode("iso-8859-1") if isinstance(raw, str) else raw  # WSGI carries bytes as latin-1
    return Params(_decode_pairs(raw_bytes, "查询参数"))


def _form(request: HttpRequest) -> tuple[Params, list[Any]]:
    """The POST body: urlencoded (decoded strictly here) or multipart (Django's parser, which replaces
    bytes that are not UTF-8 by U+FFFD, so a U+FFFD in a field is refused as not UTF-8)."""
    content_type = request.content_type or ""
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if charset not in {"utf-8", "utf8"}:
        raise Open311Error(400, f"Content-Type：只接受 UTF-8 编码，收到 charset={charset[:20]}")
    if int(request.META.get("CONTENT_LENGTH") or 0) == 0 and content_type in {"", "text/plain"}:
        return Params(), []  # nothing posted: the view names what is missing
    try:
        if content_type == "application/x-www-form-urlencoded":
            return Params(_decode_pairs(request.body, "请求体")), []
        if content_type == "multipart/form-data":
            pairs = [(k, v) for k in request.POST for v in request.POST.getlist(k)]
            if any("\ufffd" in k or "\ufffd" in v for k, v in pairs):
                raise Open311Error(400, "请求体：内容不是有效的 UTF-8 编码（本接口只接受 UTF-8）")
            _refuse_nul(pairs, "请求体")
            return Params(pairs), [f for k in request.FILES for f in request.FILES.getlist(k)]
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        raise Open311Error(413, f"请求体：过大，不能超过 {limit} MB") from None
    except TooManyFieldsSent:
        raise Open311Error(400, f"请求体：参数过多（最多 {MAX_FIELDS} 个）") from None
    raise Open311Error(400, "Content-Type：请求体必须是 application/x-www-form-urlencoded 或 multipart/form-data")


class Call:
    """What a view receives: the format, the decoded parameters and the authenticated key (or None)."""

    def __init__(self, request: HttpRequest, fmt: str, query: Params, form: Params, files: list[Any],
                 key: ApiKey | None):
        self.request, self.fmt, self.query, self.form, self.files, self.key = request, fmt, query, form, files, key


def endpoint(methods: tuple[str, ...]) -> Callable[..., Any]:
    """The common checks around a view taking ``(call, **url_kwargs)``. POST always needs a key;
    GET is public, but a key given on GET is checked and counted."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            if fmt not in FORMATS:
                return render_errors("xml", 404, [f"格式「{fmt[:10]}」不受支持，请使用 .xml 或 .json"])
            allowed = (*methods, "HEAD") if "GET" in methods else methods
            if request.method not in allowed:
                response = render_errors(fmt, 405, [f"不支持 {request.method} 方法，可用：{'、'.join(methods)}"])
                response["Allow"] = ", ".join(allowed)
                return response
            if any(ord(ch) < 32 for value in kwargs.values() for ch in str(value)):
                return render_errors(fmt, 404, ["地址中含有控制字符"])
            try:
                query = _query(request)
                form, files = _form(request) if request.method == "POST" else (Params(), [])
                jurisdiction = form.get("jurisdiction_id") or query.get("jurisdiction_id")
                if jurisdiction is not None and jurisdiction != services.settings_jurisdiction():
                    raise Open311Error(404, f"jurisdiction_id：未知的辖区「{jurisdiction[:40]}」")
                plain = form.get("api_key") or query.get("api_key")
                key = None
                if request.method == "POST" or plain is not None:
                    key = services.api_key_authenticate(plain)
                    retry_after = services.api_key_throttle(key)
                    if retry_after is not None:
                        response = render_errors(fmt, 429, [f"api_key：请求过于频繁，每分钟最多 {key.rate_limit} 次，请 {retry_after} 秒后再试"])
                        response["Retry-After"] = str(retry_after)
                        return response
                response = view(Call(request, fmt, query, form, files, key), **kwargs)
            except Open311Error as exc:
                return render_errors(fmt, exc.status, exc.descriptions)
            except ApplicationError as exc:
                error = services.translate(exc)
                return render_errors(fmt, error.status, error.descriptions)
            if request.method in {"GET", "HEAD"}:
                # Public, read-only documents: any web page may read them (no credentials involved).
                response["Access-Control-Allow-Origin"] = "*"
            return response

        return wrapper

    return decorate


# --- discovery and services --------------------------------------------------------------------------

@endpoint(("GET",))
def discovery(call: Call) -> HttpResponse:
    url = call.request.build_absolute_uri(reverse("open311:root")).rstrip("/")
    formats = ["text/xml", "application/json"]
    document = {
        "changeset": CHANGESET,
        "contact": getattr(settings, "TONGXIN_OPEN311_CONTACT", "") or "12345 政务服务便民热线：请拨打 12345",
        "key_service": getattr(settings, "TONGXIN_OPEN311_KEY_SERVICE", "")
        or "接口密钥（api_key）由 12345 热线中心的系统管理员发放，请联系 12345 热线中心申请",
        "endpoints": [
            {"specification": SPECIFICATION, "url": url, "changeset": CHANGESET, "type": "production",
             "formats": formats},
            {"specification": UPDATES_SPECIFICATION, "url": url, "changeset": CHANGESET, "type": "production",
             "formats": formats},
        ],
    }
    return render(call.fmt, "discovery", document)


@endpoint(("GET",))
def service_list(call: Call) -> HttpResponse:
    services_ = [
        {"service_code": entry.category.code, "service_name": entry.category.name, "description": entry.description,
         "metadata": entry.metadata, "type": "realtime", "keywords": entry.keywords, "group": entry.group}
        for entry in selectors.service_list()
    ]
    return render(call.fmt, "services", services_)


def _attribute(attribute: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "variable": attribute.variable,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required and attribute.variable,
        "datatype_description": attribute.datatype_description,
        "order": attribute.order,
        "description": attribute.description,
    }
    if attribute.datatype in LIST_DATATYPES:
        data["values"] = [{"key": str(v.get("key")), "name": str(v.get("name"))}
                          for v in attribute.values or [] if isinstance(v, dict)]
    return data


@endpoint(("GET",))
def service_definition(call: Call, service_code: str) -> HttpResponse:
    category = selectors.service_get(service_code)
    if category is None:
        raise Open311Error(404, f"service_code：服务「{service_code[:40]}」不存在或已停用")
    document = {
        "service_code": category.code,
        "attributes": [_attribute(a) for a in selectors.service_attributes(category)],
    }
    return render(call.fmt, "service_definition", document)


# --- service requests ----------------------------------------------------------------------------------

def _list_param(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


# Why an order closed without a reply, in the words of docs/open311.md (whatever the client's language).
CLOSED_NOTES = {Status.MERGED: "已并单", Status.WITHDRAWN: "已撤单", Status.INVALID: "无效工单", Status.TRANSFERRED: "已转110"}


def _status_notes(order: Any, personal: list[str]) -> str:
    if order.reply_text:
        return selectors.public_text(order.reply_text, personal)
    return CLOSED_NOTES.get(order.status, "")


def _request(order: Any) -> dict[str, Any]:
    """One published order as a GeoReport ``request``. Only the fields below leave: never the
    citizen's name, phone, email, device or account, never staff names or internal notes."""
    record = getattr(order, "open311_request", None)
    personal = selectors.order_personal_values(order)
    withheld = order.status == Status.INVALID  # set aside by the centre: its text is not shown
    description = record.description if record is not None else selectors.public_description(order.content)
    return {
        "service_request_id": order.number,
        "status": selectors.open_or_closed(order.status),
        "status_notes": _status_notes(order, personal),
        "service_name": order.category.name if order.category else "",
        "service_code": order.category.code if order.category else "",
        "description": "" if withheld else selectors.public_text(description, personal),
        "agency_responsible": order.lead_department.name if order.lead_department else "",
        "service_notice": "",
        "requested_datetime": order.accepted_at,
        "updated_datetime": order.public_updated_at or order.accepted_at,
        "expected_datetime": order.due_at,
        "address": "" if withheld else selectors.public_text(order.address, personal),
        "address_id": record.address_id if record is not None and not withheld else "",
        "zipcode": "",
        "lat": order.lat,
        "long": order.lng,
        "media_url": record.media_url if record is not None and not withheld else "",
    }


def _date_range(query: Params) -> tuple[Any, Any]:
    """start_date / end_date: 90 days at most; absent ends default to 90 days from the other, or to
    the last 90 days."""
    start_raw, end_raw = query.get("start_date"), query.get("end_date")
    start = services.parse_datetime(start_raw, "start_date") if start_raw else None
    end = services.parse_datetime(end_raw, "end_date") if end_raw else None
    if start is None:
        end = end or timezone.now()
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    if end < start:
        raise Open311Error(400, "end_date：结束时间不能早于开始时间（start_date）")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date/end_date：查询跨度不能超过 90 天")
    return start, end


@endpoint(("GET", "POST"))
def requests(call: Call) -> HttpResponse:
    if call.request.method == "POST":
        return _post_request(call)
    query = call.query
    ids = _list_param(query.get("service_request_id"))
    if len(ids) > MAX_IDS:
        raise Open311Error(400, f"service_request_id：一次最多查询 {MAX_IDS} 个")
    if ids:
        orders = selectors.request_list(numbers=ids)
    else:
        codes = _list_param(query.get("service_code"))
        unknown = [code for code in codes if selectors.service_get(code) is None]
        if unknown:
            raise Open311Error(400, [f"service_code：服务「{code[:40]}」不存在或已停用" for code in unknown])
        statuses = {s.lower() for s in _list_param(query.get("status"))}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status：只能是 open、closed，或用逗号分隔的二者")
        start, end = _date_range(query)
        orders = selectors.request_list(service_codes=codes or None, start=start, end=end,
                                        statuses=statuses or None)
    return render(call.fmt, "service_requests", [_request(o) for o in orders])


def _post_request(call: Call) -> HttpResponse:
    assert call.key is not None  # the decorator authenticated every POST
    record = services.service_request_create(key=call.key, params=call.form, files=call.files)
    order = record.order
    notice = f"您的诉求已受理，编号 {order.number}。"
    answer = [{"service_request_id": order.number, "token": record.token, "service_notice": notice,
               "account_id": record.account_id}]
    return render(call.fmt, "service_requests", answer)


@endpoint(("GET",))
def request_detail(call: Call, service_request_id: str) -> HttpResponse:
    order = selectors.request_get(service_request_id)
    if order is None:
        raise Open311Error(404, f"service_request_id：未找到诉求「{service_request_id[:40]}」")
    return render(call.fmt, "service_requests", [_request(order)])


@endpoint(("GET",))
def token_detail(call: Call, token: str) -> HttpResponse:
    record = selectors.token_get(token)
    if record is None:
        raise Open311Error(404, "token：未找到该令牌")
    return render(call.fmt, "service_requests", [{"service_request_id": record.order.number, "token": record.token}])


# --- servicerequestupdates (the mySociety extension) ---------------------------------------------------

def _step_description(step: selectors.PublicStep) -> str:
    """A public, Chinese sentence for one step: department names and the texts meant for the citizen
    (replies, the client's own comments), never staff names or internal notes."""
    department = step.department or "承办单位"
    data = step.data
    text = selectors.public_text(step.note, step.personal)
    descriptions: dict[str, str] = {
        Action.ACCEPT: "诉求已受理",
        Action.DISPATCH: f"已派单至{department}",
        Action.SIGN: f"{department}已签收，正在办理",
        Action.RETURN: "承办单位退回，正在重新派单",
        Action.REASSIGN: f"已改派至{department}",
        Action.FORCE_DISPATCH: f"已重新派单至{department}",
        Action.REPLY: f"{department}已答复：{text}",
        Action.RESOLVE_ON_CALL: f"已答复：{text}",
        Action.CALLBACK: "已回访，诉求办结",
        Action.REDO: f"已回访，诉求转重新办理（新编号 {data.get('redo_order_number', '')}）",
        Action.MERGE: f"已与相同诉求合并办理（并入编号 {data.get('into_number', '')}）",
        Action.WITHDRAW: "诉求已撤回",
        Action.MARK_INVALID: "经核实为无效诉求",
        Action.TRANSFER_POLICE: "已转 110 处理",
        Action.COMMENT: f"补充说明：{text}",
    }
    if step.action == Action.APPROVE_EXTENSION:
        due = parse_datetime(str(data.get("due_at") or ""))
        return f"办理期限已延长至 {timezone.localtime(due):%Y-%m-%d %H:%M}" if due else "办理期限已延长"
    return descriptions.get(step.action, "诉求有新进展")


def _update(step: selectors.PublicStep) -> dict[str, Any]:
    return {
        "update_id": str(step.update_id),
        "service_request_id": step.number,
        "status": selectors.open_or_closed(step.to_status),
        "updated_datetime": step.at,
        "description": _step_description(step),
        "media_url": step.media_url,
    }


@endpoint(("GET", "POST"))
def updates(call: Call) -> HttpResponse:
    if call.request.method == "POST":
        assert call.key is not None  # the decorator authenticated every POST
        record = services.service_request_update_create(key=call.key, params=call.form)
        return render(call.fmt, "service_request_updates", [{"update_id": str(record.event_id)}])
    start, end = _date_range(call.query)
    return render(call.fmt, "service_request_updates", [_update(s) for s in selectors.update_list(start=start, end=end)])


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return render_errors("xml", 404, [f"未知的接口地址「{request.path[:100]}」，可用接口见 discovery.xml"])


