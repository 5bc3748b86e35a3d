"""Every write of the residents domain: households, residents, merchants, their codes, the resident's
SMS login, reports (which become work orders through the engine's intake) and ratings (which go
through the engine's callback or redo, so they count in the satisfaction KPIs).

Residents are not staff users: the engine records their requests as the *channel owner*, a staff
account with the operator role over the whole city (like an Open311 key's owner), named by
TONGXIN_RESIDENTS_CHANNEL_USER. The resident's own identity is this domain's (Report, Rating).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from tongxin.accounts.choices import Role
from tongxin.core.audit import audit_record
from tongxin.core.choices import AuditEventType
from tongxin.core.errors import Conflict, NotFound, ValidationFailed
from tongxin.core.masking import mask_phone
from tongxin.core.sms import get_sms_backend
from tongxin.workorders import services as workorder_services
from tongxin.workorders.choices import DEPARTMENT_CONTROLLABLE_CAUSES, Channel, Kind, Satisfaction, Status

from . import conf, ratelimit
from .choices import CodeKind, PointSource
from .models import Household, LoginCode, Merchant, Rating, Report, Resident
from .photos import photo_prepare
from .tokens import token_make

PHONE_RE = re.compile(r"^1[2-9][0-9]{9}$")  # mainland mobile numbers; 12x is unassigned and the demo uses it
ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
RESIDENT_KINDS = (Kind.HELP, Kind.COMPLAINT, Kind.SUGGESTION, Kind.INQUIRY, Kind.PRAISE)
MAX_REPORT_CHARS = 2000
MAX_RATING_NOTE = 500


# --- identity numbers and phones ------------------------------------------------------------------

def normalise_phone(phone: str | None, field: str = "phone") -> str:
    value = re.sub(r"[\s-]", "", phone or "").removeprefix("+86")
    if not PHONE_RE.match(value):
        raise ValidationFailed(fields={field: "请输入 11 位手机号码"})
    return value


def _normalise_id(id_number: str) -> str:
    value = (id_number or "").strip().upper()
    if not ID_RE.match(value):
        raise ValidationFailed(fields={"id_number": "身份证号应为 18 位（最后一位可为 X）"})
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(value[:17], weights, strict=True)) % 11]
    if value[17] != check:
        raise ValidationFailed(fields={"id_number": "身份证号校验位不正确"})
    return value


def id_digest(id_number: str) -> str:
    """Keyed digest (HMAC-SHA256, key derived from SECRET_KEY): without the key, the 10^n space of ID
    numbers cannot be searched against a leaked table."""
    return salted_hmac("tongxin.residents.id-number", _normalise_id(id_number), algorithm="sha256").hexdigest()


def id_mask(id_number: str) -> str:
    """150602199001011234 -> 1506**********1234."""
    value = _normalise_id(id_number)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def resident_id_matches(*, resident: Resident, id_number: str) -> bool:
    try:
        digest = id_digest(id_number)
    except ValidationFailed:
        return False
    return bool(resident.id_digest) and constant_time_compare(digest, resident.id_digest)


# --- households, residents, merchants -------------------------------------------------------------

def _floor_area(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        area = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValidationFailed(fields={"floor_area": "面积必须是数字（平方米）"}) from None
    if not Decimal("0") < area < Decimal("100000"):
        raise ValidationFailed(fields={"floor_area": "面积必须大于 0 且小于 100000 平方米"})
    return area


def household_create(*, area: Any, address: str, building: str = "", unit: str = "", room: str = "",
                     floor_area: Any = None, grid: Any = None) -> Household:
    address = (address or "").strip()
    if not address:
        raise ValidationFailed(fields={"address": "地址不能为空"})
    return Household.objects.create(area=area, grid=grid, address=address[:300], building=building[:40],
                                    unit=unit[:40], room=room[:40], floor_area=_floor_area(floor_area))


def resident_add(*, household: Household, name: str, phone: str, id_number: str = "") -> Resident:
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ValidationFailed(fields={"name": "姓名不能为空，且不超过 60 个字符"})
    phone = normalise_phone(phone)
    if Resident.objects.filter(household=household, phone=phone).exists():
        raise ValidationFailed(fields={"phone": "该手机号已登记在本户"})
    digest, masked = (id_digest(id_number), id_mask(id_number)) if id_number else ("", "")
    return Resident.objects.create(household=household, name=name, phone=phone, id_digest=digest, id_masked=masked)


def merchant_create(*, name: str, address: str, area: Any, licence_number: str = "", grid: Any = None,
                    contact_name: str = "", contact_phone: str = "") -> Merchant:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(fields={"name": "商户名称不能为空"})
    return Merchant.objects.create(
        name=name[:120], address=(address or "").strip()[:300], area=area, grid=grid,
        licence_number=(licence_number or "").strip()[:40], contact_name=(contact_name or "").strip()[:60],
        contact_phone=normalise_phone(contact_phone, "contact_phone") if contact_phone else "",
    )


# --- codes ------------------------------------------------------------------------------------------

def code_kind(place: Household | Merchant) -> str:
    return CodeKind.HOUSEHOLD if isinstance(place, Household) else CodeKind.MERCHANT


def code_token(place: Household | Merchant) -> str:
    """The token printed on the place's current sticker (none while revoked)."""
    if place.code_revoked_at is not None:
        raise Conflict("该二维码已停用，请先重新生成", code="code_revoked")
    return token_make(code_kind(place), place.pk, place.code_version)


def code_url(place: Household | Merchant, base: str = "") -> str:
    return f"{base.rstrip('/')}/r/{code_token(place)}/"


@transaction.atomic
def code_reissue(*, place: Household | Merchant, actor: Any = None) -> str:
    """A new sticker (the old one was lost or damaged): bump the version, so every earlier copy stops
    working, clear any revocation, and return the new token."""
    model = type(place)
    locked = model.objects.select_for_update().get(pk=place.pk)
    locked.code_version += 1
    locked.code_revoked_at = None
    locked.save(update_fields=["code_version", "code_revoked_at"])
    place.code_version, place.code_revoked_at = locked.code_version, None
    audit_record(actor=actor, event_type=AuditEventType.TOKEN_CREATED, object_type=f"{model._meta.model_name}_code",
                 object_id=place.pk, data={"version": locked.code_version})
    return code_token(place)


@transaction.atomic
def code_revoke(*, place: Household | Merchant, actor: Any = None) -> None:
    """Stop the place's code until it is re-issued (the household moved out, a sticker was abused)."""
    model = type(place)
    locked = model.objects.select_for_update().get(pk=place.pk)
    locked.code_version += 1
    locked.code_revoked_at = timezone.now()
    locked.save(update_fields=["code_version", "code_revoked_at"])
    place.code_version, place.code_revoked_at = locked.code_version, locked.code_revoked_at
    audit_record(actor=actor, event_type=AuditEventType.TOKEN_REVOKED, object_type=f"{model._meta.model_name}_code",
                 object_id=place.pk, data={"version": locked.code_version})


# --- SMS login ----------------------------------------------------------------------------------------

def _code_digest(phone: str, code: str) -> str:
    return salted_hmac("tongxin.residents.login-code", f"{phone}:{code}", algorithm="sha256").hexdigest()


def _phones_of(place: Household | Merchant) -> set[str]:
    if isinstance(place, Household):
        return set(Resident.objects.filter(household=place, active=True).values_list("phone", flat=True))
    return {place.contact_phone} if place.contact_phone else set()


def login_code_request(*, place: Household | Merchant, phone: str, ip: str) -> None:
    """Send a one-time code to ``phone`` if it is registered at the scanned place. The answer is the
    same either way (the page must not tell a stranger who lives there); the rate limits count both."""
    phone = normalise_phone(phone)
    ratelimit.hit("code_ip", ip, message="本网络请求验证码过于频繁", field="phone")
    ratelimit.hit("code_phone", phone, message="验证码已发送，请稍后再重新获取", field="phone")
    ratelimit.hit("code_phone_day", phone, message="该号码今日获取验证码次数已达上限", field="phone")
    if phone not in _phones_of(place):
        return
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    with transaction.atomic():
        # A new code replaces any earlier one of the same phone and place.
        LoginCode.objects.filter(phone=phone, used_at__isnull=True).update(used_at=now)
        LoginCode.objects.create(phone=phone, kind=code_kind(place), target_id=place.pk,
                                 digest=_code_digest(phone, code),
                                 expires_at=now + timedelta(seconds=conf.login_code_seconds()))
    minutes = max(conf.login_code_seconds() // 60, 1)
    transaction.on_commit(lambda: get_sms_backend().send(
        phone=phone, text=f"【同心·码上生活】您的验证码是 {code}，{minutes} 分钟内有效。如非本人操作请忽略。"))


@dataclass(frozen=True)
class LoginResult:
    kind: str
    target_id: int
    resident_id: int | None  # None for a merchant's contact
    code_version: int


def login_code_verify(*, place: Household | Merchant, phone: str, code: str, ip: str) -> LoginResult:
    """Check the code; on success mark it used and return who is now signed in, bound to the place."""
    phone = normalise_phone(phone)
    ratelimit.hit("login_ip", ip, message="验证次数过多", field="code")
    code = (code or "").strip()
    wrong = ValidationFailed("验证码错误或已过期，请重新获取", fields={"code": "验证码错误或已过期"})
    if not re.fullmatch(r"[0-9]{6}", code):
        raise ValidationFailed(fields={"code": "请输入 6 位数字验证码"})
    now = timezone.now()
    failure: ValidationFailed | None = None
    # The wrong attempt must be counted even though the call fails: record it, commit, then raise.
    with transaction.atomic():
        login = (
            LoginCode.objects.select_for_update()
            .filter(phone=phone, kind=code_kind(place), target_id=place.pk, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at").first()
        )
        if login is None or login.attempts >= conf.login_code_attempts():
            failure = wrong
        elif not constant_time_compare(login.digest, _code_digest(phone, code)):
            login.attempts += 1
            left = conf.login_code_attempts() - login.attempts
            if left <= 0:
                login.used_at = now  # spent: a new code must be requested
                failure = ValidationFailed("验证码错误次数过多，请重新获取", fields={"code": "错误次数过多，请重新获取"})
            else:
                failure = ValidationFailed(f"验证码错误，还可尝试 {left} 次", fields={"code": f"验证码错误，还可尝试 {left} 次"})
            login.save(update_fields=["attempts", "used_at"])
            audit_record(actor=None, event_type=AuditEventType.LOGIN_FAILED, object_type="resident_login",
                         object_id=login.pk, data={"phone": mask_phone(phone), "attempts": login.attempts})
        else:
            login.used_at = now
            login.save(update_fields=["used_at"])
    if failure is not None:
        raise failure
    resident_id = None
    if isinstance(place, Household):
        resident = Resident.objects.filter(household=place, phone=phone, active=True).first()
        if resident is None:
            raise wrong
        resident_id = resident.pk
    return LoginResult(kind=code_kind(place), target_id=place.pk, resident_id=resident_id,
                       code_version=place.code_version)


def login_codes_purge(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete one-time codes expired for longer than ``older_than`` (digests only, but no use keeping them)."""
    deleted, _ = LoginCode.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted


# --- the channel owner ------------------------------------------------------------------------------------

_owner_cache: dict[str, tuple[float, Any]] = {}
OWNER_CACHE_SECONDS = 30.0


def channel_owner() -> Any:
    """The channel owner, remembered per process for 30 seconds (every report needs it, and the engine
    caches the scope on the user object): a deactivation or a role change is seen within that time."""
    import time

    from tongxin.accounts.models import User

    name = conf.channel_owner_username()
    cached = _owner_cache.get(name)
    if cached is not None and time.monotonic() - cached[0] < OWNER_CACHE_SECONDS:
        return cached[1]
    owner = User.objects.filter(username=name, is_active=True).first()
    if owner is None:
        raise Conflict("居民诉求渠道尚未配置（缺少渠道账号），请联系管理员", code="channel_not_configured")
    _owner_cache[name] = (time.monotonic(), owner)
    return owner


@transaction.atomic
def channel_owner_ensure(*, area: Any) -> Any:
    """Create (once) the staff account residents' requests are recorded as: no password (nobody signs in
    with it), operator over ``area`` (the city), so the engine places, routes and calls back its orders
    like any operator's."""
    from tongxin.accounts.models import RoleAssignment, User
    from tongxin.accounts.services import role_grant

    user, created = User.objects.get_or_create(
        username=conf.channel_owner_username(), defaults={"display_name": "码上生活（居民自助）"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    _owner_cache.clear()
    if not RoleAssignment.objects.filter(user=user, role=Role.OPERATOR, area=area).exists():
        role_grant(user=user, role=Role.OPERATOR, area=area)
    return user


# --- reports -------------------------------------------------------------------------------------------------

@dataclass
class Reporter:
    """Who is reporting, from the resident session: the place (household or merchant) and the person."""

    household: Household | None
    merchant: Merchant | None
    resident: Resident | None
    name: str
    phone: str

    @property
    def place(self) -> Household | Merchant:
        return self.household or self.merchant  # type: ignore[return-value]


def _point(lat: Any, lng: Any) -> tuple[float, float] | None:
    if lat in (None, "") and lng in (None, ""):
        return None
    try:
        flat, flng = float(lat), float(lng)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"lat": "位置坐标无效"}) from None
    if not (-90 <= flat <= 90 and -180 <= flng <= 180):
        raise ValidationFailed(fields={"lat": "位置坐标无效"})
    return flng, flat


def report_create(
    *, reporter: Reporter, content: str, photos: list[Any] | None = None, kind: str = Kind.HELP,
    lat: Any = None, lng: Any = None, point_source: str = PointSource.DEVICE, category_code: str = "",
    category_suggested: str = "", channel: str = Channel.QR, anonymous: bool = False,
) -> Report:
    """随手拍: check everything first (all photos decoded and re-encoded before anything is written),
    then create the work order through the engine, attach the photos, and link the order to the place."""
    errors: dict[str, str] = {}
    content = (content or "").strip()
    if not content:
        errors["content"] = "请描述您遇到的问题"
    elif len(content) > MAX_REPORT_CHARS:
        errors["content"] = f"描述不能超过 {MAX_REPORT_CHARS} 个字（现有 {len(content)} 个）"
    if kind not in RESIDENT_KINDS:
        errors["kind"] = "诉求类型无效"
    if channel not in (Channel.QR, Channel.APP):
        errors["channel"] = "渠道无效"
    uploads = [p for p in (photos or []) if p is not None]
    if len(uploads) > conf.MAX_PHOTOS:
        errors["photos"] = f"最多上传 {conf.MAX_PHOTOS} 张照片"
    try:
        point = _point(lat, lng)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        point = None
    if point_source not in (PointSource.DEVICE, PointSource.MAP, PointSource.EXIF):  # exif: read by the page
        point_source = PointSource.DEVICE
    prepared = []
    if "photos" not in errors:
        for upload in uploads:
            try:
                prepared.append(photo_prepare(upload))
            except ValidationFailed as exc:
                name = (getattr(upload, "name", "") or "")[:60]
                errors["photos"] = f"{name}：{exc.fields.get('photos')}" if name else str(exc.fields.get("photos"))
                break
    if errors:
        raise ValidationFailed(fields=errors)
    if point is None:
        exif = next((p.point for p in prepared if p.point), None)
        point, point_source = (exif, PointSource.EXIF) if exif else (None, PointSource.NONE)
    ratelimit.hit("report_resident", f"{code_kind(reporter.place)}{reporter.place.pk}:{reporter.phone}",
                  message="提交过于频繁，请稍后再试")
    owner = channel_owner()
    place = reporter.place
    area_code = None
    if point is None:  # placed at the household's community (one small read: not the area's boundary)
        area_code = type(place).objects.filter(pk=place.pk).values_list("area__code", flat=True).first()
    with transaction.atomic():
        order = workorder_services.work_order_create(
            actor=owner, channel=channel, kind=kind, content=content,
            title=content.splitlines()[0][:40], category_code=category_code or None,
            lat=point[1] if point else None, lng=point[0] if point else None, crs="wgs84",
            address=place.address, area_code=area_code,
            citizen_name="" if anonymous else reporter.name, citizen_phone="" if anonymous else reporter.phone,
            anonymous=anonymous,
            note=f"居民通过{'一户一码' if channel == Channel.QR else '移动端'}提交（{'住户' if reporter.household else '商户'}）",
        )
        for index, photo in enumerate(prepared, start=1):
            photo.content.name = f"photo-{index}.jpg"
            workorder_services.attachment_add(order_id=order.pk, actor=owner, upload=photo.content)
        return Report.objects.create(
            order=order, household=reporter.household, merchant=reporter.merchant, resident=reporter.resident,
            phone=reporter.phone, lat=point[1] if point else None, lng=point[0] if point else None,
            point_source=point_source, photos=len(prepared), category_suggested=(category_suggested or "")[:32],
        )


# --- rating --------------------------------------------------------------------------------------------------

@transaction.atomic
def report_rate(
    *, report: Report, satisfaction: str, cause: str = "", note: str = "", reopen: bool = False,
) -> Rating:
    """The resident rates the reply. Recorded on the order by the engine: a callback (回访 → 办结) or,
    when unsatisfied for a cause the department controls and asked within the reopen window, a redo
    (重办: the original closes unsatisfied, a linked new order goes back to the department). Either way
    the satisfaction counts once in the KPIs."""
    from tongxin.workorders.selectors import work_order_get

    owner = channel_owner()
    order = work_order_get(actor=owner, order_id=report.order_id)
    if order is None:
        raise NotFound()
    if Rating.objects.filter(report=report).exists():
        raise Conflict("您已评价过这条诉求", code="already_rated")
    if order.status != Status.REPLIED:
        raise Conflict("承办单位答复后才能评价", code="not_replied")
    note = (note or "").strip()
    if len(note) > MAX_RATING_NOTE:
        raise ValidationFailed(fields={"note": f"说明不能超过 {MAX_RATING_NOTE} 个字"})
    if satisfaction not in Satisfaction.values:
        raise ValidationFailed(fields={"satisfaction": "请选择满意、基本满意或不满意"})
    if satisfaction == Satisfaction.UNSATISFIED and not cause:
        raise ValidationFailed(fields={"cause": "请选择不满意的原因"})
    label = "居民自评" + (f"：{note}" if note else "")
    reopened = None
    if reopen:
        if satisfaction != Satisfaction.UNSATISFIED:
            raise ValidationFailed(fields={"reopen": "只有不满意时才能申请重新办理"})
        if cause not in DEPARTMENT_CONTROLLABLE_CAUSES:
            raise ValidationFailed(fields={"reopen": "该原因不能申请重新办理"})
        if order.replied_at and timezone.now() > order.replied_at + timedelta(days=conf.reopen_days()):
            raise ValidationFailed(fields={"reopen": f"答复已超过 {conf.reopen_days()} 天，不能再申请重新办理"})
        reopened = workorder_services.work_order_redo(order_id=order.pk, actor=owner, cause=cause,
                                                      note=f"居民申请重新办理。{note}".strip())
    else:
        workorder_services.work_order_callback(order_id=order.pk, actor=owner, satisfaction=satisfaction,
                                               cause=cause or None, note=label)
    rating = Rating.objects.create(report=report, satisfaction=satisfaction, cause=cause or "", note=note,
                                   reopened_order=reopened)
    if reopened is not None:
        # The new order is the same request: it stays on the household's list in place of the old one.
        Report.objects.create(order=reopened, household=report.household, merchant=report.merchant,
                              resident=report.resident, phone=report.phone, lat=report.lat, lng=report.lng,
                              point_source=report.point_source, photos=0)
    return rating
