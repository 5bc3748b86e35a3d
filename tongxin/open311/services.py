"""Every write of the Open311 adapter: API keys, the rate limit, posted service requests (which become
work orders through ``workorders.services.work_order_create``) and posted comments (which become
补充说明 events through ``workorders.services.work_order_comment``).

Input problems raise ``Open311Error`` with every reason found, each naming the Open311 parameter in
Chinese; the views turn it into the specification's ``errors`` document.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope
from tongxin.core.audit import audit_record
from tongxin.core.choices import AuditEventType
from tongxin.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from tongxin.workorders import services as workorder_services
from tongxin.workorders.choices import Action, Channel, Kind
from tongxin.workorders.selectors import work_order_timeline

from . import selectors
from .models import LIST_DATATYPES, ApiKey, Attribute, Datatype, RequestUpdate, ServiceRequest

KEY_PREFIX = "o311_"
# Owners of a key record requests: the 12345 centre's intake roles (a grid worker reports through the
# grid channel only, so cannot own an Open311 key).
OWNER_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR})
MAX_DESCRIPTION_CHARS = 4000  # the specification's limit on ``description``
MAX_STRING_CHARS = 1000
MAX_MEDIA_FILES = 5


class Open311Error(Exception):
    """One or more reasons, answered as the specification's ``errors`` document with ``status``."""

    def __init__(self, status: int, descriptions: list[str] | str):
        self.status = status
        self.descriptions = [descriptions] if isinstance(descriptions, str) else list(descriptions)
        super().__init__("; ".join(self.descriptions))


# --- form parameters -----------------------------------------------------------------------------

class Params:
    """The parameters of a request (query string or form body) as decoded pairs, in order. An empty
    value counts as absent (the specification's clients send empty fields freely)."""

    def __init__(self, pairs: list[tuple[str, str]] | None = None):
        self.pairs = [(k, v) for k, v in (pairs or [])]

    def get(self, name: str) -> str | None:
        for key, value in self.pairs:
            if key == name and value.strip() != "":
                return value.strip()
        return None

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for k, v in self.pairs if k == name and v.strip() != ""]


_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
# Control characters are not text: dropped from what clients post (tab and newlines are kept).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(value: str | None) -> str:
    return _CONTROL.sub("", value or "").strip()


def attribute_values(params: Params) -> dict[str, list[str]]:
    """``attribute[CODE]=v`` and ``attribute[CODE][]=v`` (repeatable) → {CODE: [v, …]}."""
    values: dict[str, list[str]] = {}
    for key, value in params.pairs:
        match = _ATTRIBUTE_KEY.match(key)
        if match and value.strip() != "":
            values.setdefault(match.group(1), []).append(_clean(value))
    return values


# --- API keys ------------------------------------------------------------------------------------

def key_digest(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def api_key_owner_check(owner: Any) -> None:
    """A key's owner records requests: an active user holding an intake role of the centre, or an
    administrator. Raises ValidationFailed (field ``owner``) otherwise."""
    if owner is None or not getattr(owner, "is_active", False):
        raise ValidationFailed(fields={"owner": "渠道负责人必须是已启用的用户"})
    scope = actor_scope(owner)
    if not (scope.is_admin or scope.roles & OWNER_ROLES):
        raise ValidationFailed(fields={"owner": "渠道负责人必须具有话务员、派单员、督办员或管理员角色，才能以其身份受理诉求"})


def api_key_issue(key: ApiKey, *, actor: Any = None) -> str:
    """Give an unsaved key its secret, save it and audit the creation; return the plain key, which is
    never stored or shown again."""
    api_key_owner_check(key.owner)
    if not 1 <= key.rate_limit <= 100_000:
        raise ValidationFailed(fields={"rate_limit": "每分钟请求上限必须在 1 到 100000 之间"})
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key.prefix, key.digest = plain[:12], key_digest(plain)
    key.save()
    audit_record(actor=actor, event_type=AuditEventType.TOKEN_CREATED, object_type="open311_key", object_id=key.pk,
                 data={"name": key.name, "prefix": key.prefix, "owner": key.owner.get_username()})
    return plain


@transaction.atomic
def api_key_create(*, name: str, owner: Any, rate_limit: int = 60, actor: Any = None) -> tuple[ApiKey, str]:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(fields={"name": "名称不能为空，且不超过 100 个字符"})
    if ApiKey.objects.filter(name=name).exists():
        raise ValidationFailed(fields={"name": f"名称「{name}」已被使用"})
    key = ApiKey(name=name, owner=owner, rate_limit=rate_limit)
    plain = api_key_issue(key, actor=actor)
    return key, plain


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Any = None) -> ApiKey:
    key.active = False
    key.save(update_fields=["active"])
    audit_record(actor=actor, event_type=AuditEventType.TOKEN_REVOKED, object_type="open311_key", object_id=key.pk,
                 data={"name": key.name, "prefix": key.prefix})
    return key


def api_key_authenticate(plain: str | None) -> ApiKey:
    """The active key for ``plain``; Open311Error 403 when it is missing, unknown or disabled."""
    if not plain:
        raise Open311Error(403, "api_key：缺少接口密钥（api_key），请在表单字段或查询参数中提供")
    key = None
    if plain.startswith(KEY_PREFIX) and len(plain) <= 200:
        key = ApiKey.objects.select_related("owner").filter(digest=key_digest(plain)).first()
    if key is None:
        raise Open311Error(403, "api_key：接口密钥无效")
    if not key.active or not key.owner.is_active:
        raise Open311Error(403, "api_key：接口密钥已停用")
    now = timezone.now()
    # Touch at most once a minute: a busy client must not write on every request.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def api_key_throttle(key: ApiKey, *, now: float | None = None) -> int | None:
    """Count one request against the key's per-minute limit (a fixed window in the shared cache, so
    every application server counts together). Returns None when allowed, else the seconds until the
    window ends."""
    now = time.time() if now is None else now
    window = int(now // 60)
    cache_key = f"open311:rate:{key.pk}:{window}"
    cache.add(cache_key, 0, timeout=120)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=120)
        count = 1
    if count > key.rate_limit:
        return max(1, int((window + 1) * 60 - now))
    return None


# --- posting a service request ---------------------------------------------------------------------

def parse_datetime(value: str, name: str) -> datetime:
    """A W3C/ISO 8601 datetime with its time zone (``Z`` or ``+08:00``), or a plain date (taken as
    midnight in the city's time zone). A ``+`` that arrived as a space (an unencoded query string) is
    put back. Raises Open311Error 400 naming ``name``."""
    text = value.strip()
    text = re.sub(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$", r"\1+\2", text)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            parsed = datetime.fromisoformat(text)
            return timezone.make_aware(parsed)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", text):
            raise ValueError(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(400, f"{name}：日期时间格式无效，应为 ISO 8601，例如 2026-11-23T08:00:00+08:00") from None
    if timezone.is_naive(parsed):
        raise Open311Error(400, f"{name}：日期时间必须带时区（Z 或 +08:00）")
    return parsed


def _validate_attribute(attribute: Attribute, values: list[str], errors: list[str]) -> Any:
    """The stored value of one attribute (a string or, for a multi-value list, a list of keys), or
    None when absent. Appends a reason to ``errors`` when the input does not fit the definition."""
    name = f"attribute[{attribute.code}]"
    label = f"「{attribute.description}」"
    if not values:
        if attribute.required:
            errors.append(f"{name}：{label}为必填项")
        return None
    if attribute.datatype != Datatype.MULTIVALUELIST and len(values) > 1:
        errors.append(f"{name}：{label}只能填写一个值")
        return None
    value = values[0]
    if attribute.datatype == Datatype.STRING:
        if len(value) > MAX_STRING_CHARS or "\n" in value:
            errors.append(f"{name}：{label}必须是不超过 {MAX_STRING_CHARS} 个字符的单行文字")
            return None
        return value
    if attribute.datatype == Datatype.TEXT:
        if len(value) > MAX_DESCRIPTION_CHARS:
            errors.append(f"{name}：{label}不能超过 {MAX_DESCRIPTION_CHARS} 个字符")
            return None
        return value
    if attribute.datatype == Datatype.NUMBER:
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or len(value) > 40:
            errors.append(f"{name}：{label}必须是数字，收到「{value[:40]}」")
            return None
        return value
    if attribute.datatype == Datatype.DATETIME:
        try:
            return parse_datetime(value, name).isoformat()
        except Open311Error as exc:
            errors.extend(exc.descriptions)
            return None
    keys = [str(v.get("key")) for v in attribute.values or [] if isinstance(v, dict)]
    chosen: list[str] = []
    for item in values:
        if item not in keys:
            errors.append(f"{name}：「{item[:40]}」不是{label}的可选值，可选：{'、'.join(keys)}")
        elif item not in chosen:
            chosen.append(item)
    if len(chosen) != len(set(values)):
        return None
    return chosen if attribute.datatype == Datatype.MULTIVALUELIST else chosen[0]


def _display(attribute: Attribute, value: Any) -> str:
    """An attribute's answer for the handler: list keys shown by their names."""
    if attribute.datatype in LIST_DATATYPES:
        names = {str(v.get("key")): str(v.get("name")) for v in attribute.values or [] if isinstance(v, dict)}
        keys = value if isinstance(value, list) else [value]
        return "、".join(names.get(k, k) for k in map(str, keys))
    return str(value)


def _is_cjk(text: str) -> bool:
    return bool(re.search(r"[\u3400-\u9fff]", text))


def citizen_name(first_name: str, last_name: str) -> str:
    """张 + 三 → 张三 (surname first, no space, when the name is Chinese); John + Smith → John Smith."""
    if _is_cjk(first_name + last_name):
        return f"{last_name}{first_name}"
    return " ".join(part for part in (first_name, last_name) if part)


# Work-order service fields → the Open311 parameter a client would fix.
FIELD_NAMES = {
    "content": "description", "address": "address_string", "lat": "lat", "lng": "long", "crs": "lat",
    "area_code": "lat/long", "citizen_phone": "phone", "citizen_name": "first_name/last_name",
    "category_code": "service_code", "text": "description", "file": "media",
}


def translate(exc: ApplicationError) -> Open311Error:
    """A domain error of the work-order engine as an Open311 error: the field renamed to the Open311
    parameter; a validation error or a conflict is 400, a refusal 403, a missing order 404."""
    if isinstance(exc, ValidationFailed):
        reasons = [f"{FIELD_NAMES.get(str(f).split('[')[0], f)}：{reason}" for f, reason in exc.fields.items()]
        return Open311Error(400, reasons or [exc.message])
    if isinstance(exc, NotFound):
        return Open311Error(404, "service_request_id：未找到该诉求")
    if isinstance(exc, PermissionDenied):
        return Open311Error(403, f"api_key：接口密钥的渠道负责人无权执行此操作（{exc.message}）")
    if isinstance(exc, Conflict):
        return Open311Error(400, exc.message)
    return Open311Error(400, exc.message)


@dataclass
class _Posted:
    category: Any = None
    lat: float | None = None
    lng: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def _check_text(params: Params, name: str, max_chars: int, errors: list[str], *, label: str) -> str:
    value = _clean(params.get(name))
    if len(value) > max_chars:
        errors.append(f"{name}：{label}不能超过 {max_chars} 个字符（现有 {len(value)} 个）")
        return ""
    return value


def _check_url(value: str, name: str, errors: list[str]) -> str:
    if not value:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        errors.append(f"{name}：必须是 http 或 https 开头的网址")
        return ""
    return value


def _check_location(params: Params, errors: list[str], posted: _Posted) -> None:
    lat_raw, lng_raw = params.get("lat"), params.get("long")
    if (lat_raw is None) != (lng_raw is None):
        errors.append(f"{'long' if lng_raw is None else 'lat'}：lat 和 long 必须同时提供")
        return
    if lat_raw is None:
        if params.get("address_string") is None and params.get("address_id") is None:
            errors.append("lat/long：必须提供位置：lat 和 long（WGS-84），或 address_string，或 address_id")
        return
    try:
        lat, lng = float(lat_raw), float(lng_raw or "")
    except ValueError:
        errors.append("lat/long：坐标必须是十进制度数，例如 lat=39.8168&long=109.9868")
        return
    if not (math.isfinite(lat) and math.isfinite(lng)) or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        errors.append("lat/long：坐标超出范围（纬度 -90～90，经度 -180～180）")
        return
    posted.lat, posted.lng = lat, lng


def _check_attributes(params: Params, errors: list[str], posted: _Posted) -> None:
    given = attribute_values(params)
    for attribute in selectors.service_attributes(posted.category):
        if not attribute.variable:
            continue  # informs the citizen only: any value posted for it is ignored
        value = _validate_attribute(attribute, given.get(attribute.code, []), errors)
        if value is not None:
            posted.attributes[attribute.code] = value
            posted.lines.append(f"{attribute.description}：{_display(attribute, value)}")


def _check_service_code(params: Params, errors: list[str], posted: _Posted) -> None:
    code = params.get("service_code")
    if code is None:
        errors.append("service_code：缺少服务代码（service_code）")
        return
    posted.category = selectors.service_get(code)
    if posted.category is None:
        errors.append(f"service_code：服务「{code[:40]}」不存在或已停用")


def _content(description: str, posted: _Posted, address_id: str, media_url: str, key: ApiKey) -> str:
    """The order's content as the handlers read it: the description, then the answers to the
    attributes, the address id and the photo link."""
    parts = [description or f"（未填写描述，服务：{posted.category.name}）"]
    extra = list(posted.lines)
    if address_id:
        extra.append(f"地址编号：{address_id}")
    if media_url:
        extra.append(f"图片：{media_url}")
    if extra:
        parts.append(selectors.EXTRA_MARK + "\n" + "\n".join(extra))
    parts.append(f"{selectors.SOURCE_MARK}Open311 客户端「{key.name}」")
    return "\n\n".join(parts)


@transaction.atomic
def service_request_create(*, key: ApiKey, params: Params, files: list[Any] | None = None) -> ServiceRequest:
    """POST requests: validate everything the client sent (all reasons at once), then record the work
    order as the key's owner (channel ``open311``, kind from the service settings, default ``help``)
    and its Open311 record, in one transaction."""
    errors: list[str] = []
    posted = _Posted()
    _check_service_code(params, errors, posted)
    _check_location(params, errors, posted)
    description = _check_text(params, "description", MAX_DESCRIPTION_CHARS, errors, label="描述")
    address_string = _check_text(params, "address_string", 300, errors, label="地址")
    address_id = _check_text(params, "address_id", 100, errors, label="地址编号")
    first_name = _check_text(params, "first_name", 30, errors, label="名")
    last_name = _check_text(params, "last_name", 30, errors, label="姓")
    phone = _check_text(params, "phone", 20, errors, label="电话")
    email = _check_text(params, "email", 254, errors, label="邮箱")
    device_id = _check_text(params, "device_id", 100, errors, label="设备编号")
    account_id = _check_text(params, "account_id", 100, errors, label="账号编号")
    media_url = _check_url(_check_text(params, "media_url", 500, errors, label="图片链接"), "media_url", errors)
    if email:
        try:
            EmailValidator()(email)
        except ValidationError:
            errors.append("email：邮箱格式不正确")
    if posted.category is not None:
        _check_attributes(params, errors, posted)
    files = list(files or [])
    if len(files) > MAX_MEDIA_FILES:
        errors.append(f"media：最多上传 {MAX_MEDIA_FILES} 个文件")
    if errors:
        raise Open311Error(400, errors)
    setting = selectors.service_setting(posted.category)
    name = citizen_name(first_name, last_name)
    try:
        order = workorder_services.work_order_create(
            actor=key.owner, channel=Channel.OPEN311, kind=setting.kind if setting else Kind.HELP,
            content=_content(description, posted, address_id, media_url, key), title=posted.category.name[:200],
            category_code=posted.category.code, lat=posted.lat, lng=posted.lng, crs="wgs84",
            address=address_string, citizen_name=name, citizen_phone=phone, anonymous=not (name or phone),
        )
        for upload in files:
            workorder_services.attachment_add(order_id=order.pk, actor=key.owner, upload=upload)
    except ApplicationError as exc:
        raise translate(exc) from None
    return ServiceRequest.objects.create(
        order=order, api_key=key, token=secrets.token_urlsafe(18), service_code=posted.category.code,
        description=description, attributes=posted.attributes, address_string=address_string, address_id=address_id,
        media_url=media_url, email=email, first_name=first_name, last_name=last_name, phone=phone,
        device_id=device_id, account_id=account_id,
    )


# --- posting a comment (servicerequestupdates) ------------------------------------------------------

def service_request_update_create(*, key: ApiKey, params: Params) -> RequestUpdate:
    """POST servicerequestupdates: the citizen's comment on a published order, recorded as a 补充说明
    event by the key's owner. The order's status never changes through Open311 (``status`` is
    ignored). A repeated ``update_id`` of the same key returns the first record."""
    errors: list[str] = []
    number = params.get("service_request_id")
    if number is None:
        errors.append("service_request_id：缺少诉求编号")
    description = _check_text(params, "description", MAX_DESCRIPTION_CHARS, errors, label="补充说明")
    if not description:
        errors.append("description：补充说明不能为空")
    client_update_id = _check_text(params, "update_id", 64, errors, label="update_id")
    first_name = _check_text(params, "first_name", 30, errors, label="名")
    last_name = _check_text(params, "last_name", 30, errors, label="姓")
    email = _check_text(params, "email", 254, errors, label="邮箱")
    media_url = _check_url(_check_text(params, "media_url", 500, errors, label="图片链接"), "media_url", errors)
    client_updated_at = None
    if params.get("updated_datetime"):
        try:
            client_updated_at = parse_datetime(params.get("updated_datetime") or "", "updated_datetime")
        except Open311Error as exc:
            errors.extend(exc.descriptions)
    if email:
        try:
            EmailValidator()(email)
        except ValidationError:
            errors.append("email：邮箱格式不正确")
    if errors:
        raise Open311Error(400, errors)
    if client_update_id:
        existing = RequestUpdate.objects.filter(api_key=key, client_update_id=client_update_id).first()
        if existing is not None:
            return existing
    order = selectors.request_get(number or "")
    if order is None:
        raise Open311Error(404, f"service_request_id：未找到诉求「{(number or '')[:40]}」")
    text = description
    if media_url:
        text += f"\n图片：{media_url}"
    try:
        with transaction.atomic():
            workorder_services.work_order_comment(order_id=order.pk, actor=key.owner, text=text,
                                                  source=selectors.COMMENT_SOURCE)
            # The order row stays locked until this transaction ends, so the newest comment is ours.
            event = max((e for e in work_order_timeline(order) if e.action == Action.COMMENT), key=lambda e: e.pk)
            return RequestUpdate.objects.create(
                api_key=key, order_id=order.pk, event=event, client_update_id=client_update_id,
                client_updated_at=client_updated_at, media_url=media_url, email=email, first_name=first_name,
                last_name=last_name,
            )
    except IntegrityError:
        # The same update_id posted twice at once: the other request recorded it.
        existing = RequestUpdate.objects.filter(api_key=key, client_update_id=client_update_id).first()
        if existing is None:
            raise
        return existing
    except ApplicationError as exc:
        if isinstance(exc, Conflict):
            raise Open311Error(400, f"service_request_id：诉求已办结，不能再补充说明（{exc.message}）") from None
        raise translate(exc) from None


def settings_jurisdiction() -> str:
    """The jurisdiction_id this endpoint answers to (the city's code unless configured)."""
    return str(getattr(settings, "TONGXIN_OPEN311_JURISDICTION", "") or settings.TONGXIN_CITY_CODE)
