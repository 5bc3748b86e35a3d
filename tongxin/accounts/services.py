"""Writes to users, roles, tokens and notifications."""

from __future__ import annotations

import copy
import functools
import hashlib
import secrets
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit_record
from tongxin.core.choices import AuditEventType
from tongxin.core.errors import ValidationFailed

from .choices import Role
from .models import ApiToken, Department, Notification, RoleAssignment, User

TOKEN_PREFIX = "tx_"  # noqa: S105 - a public prefix, not a secret


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str = "", actor: Any = None) -> tuple[ApiToken, str]:
    """Create a token and return it with its plain value, which is never stored or shown again."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=plain[:10], digest=token_digest(plain))
    audit_record(actor=actor or user, event_type=AuditEventType.TOKEN_CREATED, object_type="user", object_id=user.pk,
                 data={"token_prefix": token.prefix, "name": name})
    return token, plain


# --- bearer tokens: a short per-process cache (ADR 0008) ------------------------------------------
#
# A program calls the API many times a second with the same token; reading the token, its user and the
# user's role assignments on every call costs two queries. Each worker process therefore remembers a
# token it has verified, with the user and the user's scope (accounts.selectors.ActorScope), for at most
# TONGXIN_TOKEN_CACHE_SECONDS (default 5). A token revoked, a user deactivated or a role changed stops
# working at once in the process that saved the change (the signals below empty its cache) and within
# that many seconds in every other process. 0 switches the cache off.

_token_cache: dict[str, tuple[float, User, Any]] = {}
_token_cache_lock = threading.Lock()
_TOKEN_CACHE_MAX = 10_000  # distinct tokens remembered per process; emptied, not evicted, beyond that


def invalidate_token_cache(*_args: Any, **_kwargs: Any) -> None:
    """Forget every verified token in this process (a signal receiver as well)."""
    with _token_cache_lock:
        _token_cache.clear()


# An area's path is part of a scope, so a moved area empties the cache too.
for _model in ("accounts.ApiToken", "accounts.User", "accounts.RoleAssignment", "accounts.Department", "regions.Area"):
    post_save.connect(invalidate_token_cache, sender=_model, dispatch_uid=f"token-cache-{_model}-save")
    post_delete.connect(invalidate_token_cache, sender=_model, dispatch_uid=f"token-cache-{_model}-delete")


def api_token_authenticate(plain: str) -> User | None:
    """The active user of a valid, unrevoked token, else None. The user carries its resolved scope, so
    the request's permission checks need no further query."""
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    digest = token_digest(plain)
    ttl = float(getattr(settings, "TONGXIN_TOKEN_CACHE_SECONDS", 0) or 0)
    if ttl > 0:
        hit = _token_cache.get(digest)
        if hit is not None and hit[0] > time.monotonic():
            # A copy per request: the request may set attributes on its user; the cached one stays clean.
            from .selectors import actor_scope_memoise

            user = copy.copy(hit[1])
            actor_scope_memoise(user, hit[2])
            return user
    token = ApiToken.objects.select_related("user").filter(digest=digest, revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch at most once a minute: a busy integration must not write on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    user = token.user
    if ttl > 0:
        from .selectors import actor_scope

        scope = actor_scope(user)
        clean = copy.copy(user)
        clean.__dict__.pop("_tongxin_scope", None)
        with _token_cache_lock:
            if len(_token_cache) >= _TOKEN_CACHE_MAX:
                _token_cache.clear()
            _token_cache[digest] = (time.monotonic() + ttl, clean, scope)
    return user


@transaction.atomic
def role_grant(*, user: User, role: str, area: Any = None, department: Department | None = None, actor: Any = None) -> RoleAssignment:
    if role not in Role.values:
        raise ValidationFailed(fields={"role": _("未知角色 %(role)s") % {"role": role}})
    if role == Role.HANDLER:
        if department is None or area is not None:
            raise ValidationFailed(fields={"department": _("承办人必须指定所属单位")})
    elif area is None or department is not None:
        raise ValidationFailed(fields={"area": _("该角色必须指定区域范围")})
    # Exactly one of area/department is NULL, and NULLs are distinct in a unique constraint, so
    # role_assignment_unique never fires: look for the grant first (the except below stays for races).
    existing = RoleAssignment.objects.filter(user=user, role=role, area=area, department=department).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            assignment = RoleAssignment.objects.create(user=user, role=role, area=area, department=department)
    except IntegrityError:
        return RoleAssignment.objects.get(user=user, role=role, area=area, department=department)
    audit_record(actor=actor, event_type=AuditEventType.ROLE_GRANTED, object_type="user", object_id=user.pk,
                 data={"role": role, "area": getattr(area, "code", None), "department": getattr(department, "code", None)})
    return assignment


def notification_send(
    *, recipients: list[User], kind: str, title: str, body: str = "", object_type: str = "", object_id: Any = "",
    url: str = "", dedupe_key: str | None = None,
) -> int:
    """Create one in-app notification per recipient. With a ``dedupe_key`` a second call for the same
    key and recipient creates nothing. Returns how many were created."""
    created = 0
    for user in recipients:
        key = f"{dedupe_key}:{user.pk}" if dedupe_key else None
        if key and Notification.objects.filter(dedupe_key=key).exists():
            continue
        sms = bool(user.phone) and kind in sms_notify_kinds()
        notification = Notification.objects.create(
            recipient=user, kind=kind, title=title, body=body, object_type=object_type, object_id=str(object_id),
            url=url, dedupe_key=key, sms_due=sms,
        )
        created += 1
        if sms:
            transaction.on_commit(functools.partial(_schedule_sms, notification.pk))
    return created


def sms_notify_kinds() -> frozenset[str]:
    """The notification kinds that also go out by SMS (settings.TONGXIN_SMS_NOTIFY_KINDS)."""
    return frozenset(k.strip() for k in str(getattr(settings, "TONGXIN_SMS_NOTIFY_KINDS", "")).split(",") if k.strip())


def _schedule_sms(notification_id: int) -> None:
    from .tasks import notification_sms_task

    notification_sms_task(notification_id)


SMS_LEASE = timedelta(minutes=5)  # a claim older than this is taken to be a sender that died


def notification_sms_send(*, notification_id: int) -> bool:
    """Send one notification by SMS through the configured backend (tongxin.core.sms): "【同心】<title>".
    Runs in the task worker, after the notification's transaction committed, and from the sweep.
    The row is claimed first (a conditional UPDATE: of two senders one wins), then sent, then marked
    sent. Delivery is at least once: a sender killed after the gateway's answer and before the mark
    leaves the claim to expire, and the sweep sends again after the lease; none is ever lost.
    A notification written before the outbox existed (``sms_due`` false) is sent as before."""
    from tongxin.core.sms import get_sms_backend

    notification = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if notification is None or not notification.recipient.phone or not notification.recipient.is_active:
        return False
    if notification.sms_due:
        now = timezone.now()
        claimed = Notification.objects.filter(
            pk=notification.pk, sms_sent_at__isnull=True,
        ).filter(Q(sms_claimed_at__isnull=True) | Q(sms_claimed_at__lt=now - SMS_LEASE)).update(sms_claimed_at=now)
        if not claimed:
            return False  # sent already, or another sender holds it
    get_sms_backend().send(phone=notification.recipient.phone, text=f"【同心】{notification.title}"[:140])
    if notification.sms_due:
        Notification.objects.filter(pk=notification.pk).update(sms_sent_at=timezone.now())
    return True


def notification_sms_sweep(*, older_than: timedelta = timedelta(minutes=1), limit: int = 500) -> int:
    """Send the SMS of notifications still due a minute after they were written (their task was lost:
    an app worker killed between commit and enqueue, a task worker killed mid-send, a queue flushed) or
    whose claim expired. Returns how many it sent."""
    now = timezone.now()
    pending = (Notification.objects.filter(sms_due=True, sms_sent_at__isnull=True, created_at__lt=now - older_than)
               .filter(Q(sms_claimed_at__isnull=True) | Q(sms_claimed_at__lt=now - SMS_LEASE))
               .order_by("created_at").values_list("pk", flat=True)[:limit])
    return sum(1 for pk in list(pending) if notification_sms_send(notification_id=pk))


@transaction.atomic
def notification_mark_read(*, user: User, notification_ids: list[Any] | None = None) -> int:
    """Mark the user's own notifications read: the given ids (others' ids are ignored, as if they did
    not exist), or all of them when ``notification_ids`` is None. Returns how many changed."""
    qs = Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True)
    if notification_ids is not None:
        ids = []
        for value in notification_ids:
            try:
                ids.append(int(value))
            except (TypeError, ValueError):
                continue
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())
