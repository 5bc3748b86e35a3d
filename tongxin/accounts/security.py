"""Staff sign-in security: lockout after repeated failures, and the optional TOTP second factor.

Lockout (settings ``TONGXIN_LOGIN_*``): ``TONGXIN_LOGIN_MAX_FAILURES`` failures of one user name, or
``TONGXIN_LOGIN_MAX_FAILURES_PER_IP`` from one address, within ``TONGXIN_LOGIN_WINDOW_SECONDS`` lock that
name (or address) for ``TONGXIN_LOGIN_LOCK_SECONDS`` after the last failure of the run. Failures are rows
of ``LoginFailure`` — in the database, so every worker counts the same — and each one is audited
(``login_failed``), the start of a lock too (``login_locked``). While locked no password is checked, so a
locked account tells a guesser nothing.

Second factor (RFC 6238, tongxin/core/totp.py): a member of staff enrols an authenticator app (QR code),
confirms one code, and receives ten one-time recovery codes; from then on the password step is followed by
a code step. Roles in ``TONGXIN_TOTP_REQUIRED_ROLES`` must enrol before their first session starts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import totp
from tongxin.core.audit import audit_record
from tongxin.core.choices import AuditEventType
from tongxin.core.errors import Conflict, ValidationFailed

from .models import LoginFailure, RecoveryCode, RoleAssignment, TotpDevice, User

RECOVERY_CODES = 10


class SecurityEvent(StrEnum):
    """Audit event types of this module beyond core's enum (docs/security.md asks for them to join it)."""

    LOGIN_LOCKED = "login_locked"
    TOTP_ENABLED = "totp_enabled"
    TOTP_DISABLED = "totp_disabled"
    RECOVERY_CODE_USED = "recovery_code_used"


def _conf(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _name_key(username: str) -> str:
    # Case and surrounding blanks do not make a new name to guess under.
    return (username or "").strip().casefold()[:150]


def _locked_until(times: list[datetime], limit: int, window: timedelta, lock: timedelta) -> datetime | None:
    """The end of the latest lock a sorted list of failure times causes: any ``limit`` of them within
    ``window`` lock until ``lock`` after the last of those."""
    until = None
    for first in range(len(times) - limit + 1):
        last = times[first + limit - 1]
        if last - times[first] <= window:
            candidate = last + lock
            until = candidate if until is None or candidate > until else until
    return until


def login_locked_until(*, username: str, ip: str, now: datetime | None = None) -> datetime | None:
    """When the lock on this name or address ends, or None if neither is locked now."""
    now = now or timezone.now()
    window = timedelta(seconds=_conf("TONGXIN_LOGIN_WINDOW_SECONDS", 900))
    lock = timedelta(seconds=_conf("TONGXIN_LOGIN_LOCK_SECONDS", 900))
    since = now - window - lock
    result = None
    for field, value, limit in (("username", _name_key(username), _conf("TONGXIN_LOGIN_MAX_FAILURES", 5)),
                                ("ip", ip, _conf("TONGXIN_LOGIN_MAX_FAILURES_PER_IP", 20))):
        if not value or limit < 1:
            continue
        times = list(LoginFailure.objects.filter(**{field: value}, at__gte=since, at__lte=now)
                     .order_by("at").values_list("at", flat=True))
        until = _locked_until(times, limit, window, lock)
        if until is not None and until > now and (result is None or until > result):
            result = until
    return result


@transaction.atomic
def login_failure_record(*, username: str, ip: str, reason: str, now: datetime | None = None) -> datetime | None:
    """Count one failed attempt (``reason``: "password" or "second_factor"), audit it, and return the end
    of the lock it starts (None if it starts none)."""
    now = now or timezone.now()
    name = _name_key(username)
    horizon = now - timedelta(seconds=_conf("TONGXIN_LOGIN_WINDOW_SECONDS", 900) + _conf("TONGXIN_LOGIN_LOCK_SECONDS", 900))
    LoginFailure.objects.filter(at__lt=horizon).delete()  # the counter keeps only what can still lock
    LoginFailure.objects.create(username=name, ip=ip[:64], at=now)
    user = User.objects.filter(username=username).first()
    audit_record(actor=user, event_type=AuditEventType.LOGIN_FAILED, object_type="staff_login", object_id=name,
                 data={"ip": ip, "reason": reason})
    until = login_locked_until(username=username, ip=ip, now=now)
    if until is not None:
        audit_record(actor=user, event_type=SecurityEvent.LOGIN_LOCKED, object_type="staff_login", object_id=name,
                     data={"ip": ip, "until": until.isoformat()})
    return until


@transaction.atomic
def login_success_record(*, user: Any) -> None:
    """The name's failures are forgiven by a full sign-in (the address's are not: see the module doc)."""
    LoginFailure.objects.filter(username=_name_key(user.get_username())).delete()


# --- second factor --------------------------------------------------------------------------------

def totp_enabled(user: Any) -> bool:
    return TotpDevice.objects.filter(user_id=user.pk, confirmed_at__isnull=False).exists()


def totp_required(user: Any) -> bool:
    """Whether this user's roles oblige a second factor (``TONGXIN_TOTP_REQUIRED_ROLES``)."""
    roles = {str(role).strip() for role in getattr(settings, "TONGXIN_TOTP_REQUIRED_ROLES", [])}
    if "superuser" in roles and getattr(user, "is_superuser", False):
        return True
    return RoleAssignment.objects.filter(user_id=user.pk, role__in=roles).exists()


@transaction.atomic
def totp_enrol_begin(*, user: Any) -> TotpDevice:
    """An unconfirmed device with a fresh secret (a second visit before confirming keeps the same one).
    A confirmed device must be switched off first (``totp_disable``), so a stolen session cannot silently
    move the factor to another phone."""
    device = TotpDevice.objects.select_for_update().filter(user_id=user.pk).first()
    if device is not None and device.confirmed_at is not None:
        raise Conflict(_("已启用双重验证；如需更换手机，请先由管理员重置"), code="totp_already_enabled")
    if device is None:
        device = TotpDevice.objects.create(user_id=user.pk, secret=totp.new_secret())
    return device


def _recovery_digest(code: str) -> str:
    normal = "".join(code.split()).replace("-", "").upper()
    return hmac.new(settings.SECRET_KEY.encode(), f"recovery:{normal}".encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def totp_enrol_confirm(*, user: Any, code: str) -> list[str]:
    """Confirm the device with one code from the app; return the recovery codes (shown once)."""
    device = TotpDevice.objects.select_for_update().filter(user_id=user.pk).first()
    if device is None or device.confirmed_at is not None:
        raise Conflict(_("没有待启用的双重验证设备，请重新开始"), code="totp_not_pending")
    step = totp.verify(device.secret, code)
    if step is None:
        raise ValidationFailed(fields={"code": _("验证码不正确或已过期，请输入应用中当前显示的 6 位数字")})
    device.confirmed_at = timezone.now()
    device.last_step = step
    device.save(update_fields=["confirmed_at", "last_step"])
    RecoveryCode.objects.filter(user_id=user.pk).delete()
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = secrets.token_hex(5).upper()
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create([RecoveryCode(user_id=user.pk, digest=_recovery_digest(c)) for c in codes])
    audit_record(actor=user, event_type=SecurityEvent.TOTP_ENABLED, object_type="user", object_id=user.pk)
    return codes


@transaction.atomic
def totp_check(*, user: Any, code: str) -> bool:
    """Whether ``code`` is the app's current code (never one already accepted) or an unused recovery code,
    which it then spends. The caller counts a False as a failed sign-in."""
    device = TotpDevice.objects.select_for_update().filter(user_id=user.pk, confirmed_at__isnull=False).first()
    if device is None:
        return False
    step = totp.verify(device.secret, code, after_step=device.last_step)
    if step is not None:
        device.last_step = step
        device.save(update_fields=["last_step"])
        return True
    text = "".join(str(code or "").split())
    if len(text.replace("-", "")) == 10:
        spare = RecoveryCode.objects.select_for_update().filter(
            user_id=user.pk, digest=_recovery_digest(text), used_at__isnull=True).first()
        if spare is not None:
            spare.used_at = timezone.now()
            spare.save(update_fields=["used_at"])
            left = RecoveryCode.objects.filter(user_id=user.pk, used_at__isnull=True).count()
            audit_record(actor=user, event_type=SecurityEvent.RECOVERY_CODE_USED, object_type="user",
                         object_id=user.pk, data={"left": left})
            return True
    return False


@transaction.atomic
def totp_disable(*, user: Any, actor: Any) -> None:
    """Switch the second factor off (a lost phone): an administrator, or the user themself."""
    if actor.pk != user.pk and not (getattr(actor, "is_superuser", False)
                                    or RoleAssignment.objects.filter(user_id=actor.pk, role="admin").exists()):
        from tongxin.core.errors import PermissionDenied

        raise PermissionDenied(_("只有管理员可以重置他人的双重验证"))
    TotpDevice.objects.filter(user_id=user.pk).delete()
    RecoveryCode.objects.filter(user_id=user.pk).delete()
    audit_record(actor=actor, event_type=SecurityEvent.TOTP_DISABLED, object_type="user", object_id=user.pk)
