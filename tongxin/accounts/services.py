"""Writes to users, roles, tokens and notifications."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

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


def api_token_authenticate(plain: str) -> User | None:
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(plain), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch at most once a minute: a busy integration must not write on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def role_grant(*, user: User, role: str, area: Any = None, department: Department | None = None, actor: Any = None) -> RoleAssignment:
    if role not in Role.values:
        raise ValidationFailed(fields={"role": f"未知角色 {role}"})
    if role == Role.HANDLER:
        if department is None or area is not None:
            raise ValidationFailed(fields={"department": "承办人必须指定所属单位"})
    elif area is None or department is not None:
        raise ValidationFailed(fields={"area": "该角色必须指定区域范围"})
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
        Notification.objects.create(
            recipient=user, kind=kind, title=title, body=body, object_type=object_type, object_id=str(object_id),
            url=url, dedupe_key=key,
        )
        created += 1
    return created


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
