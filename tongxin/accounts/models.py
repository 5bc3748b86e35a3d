"""Users, departments, role assignments scoped to an area or a department, and API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import DepartmentKind, Role


class Department(models.Model):
    """A unit that handles work orders (承办单位), or the 12345 centre itself.

    Rules: ``area`` is the area the department serves (a district bureau serves its district); the
    centre is a department of kind ``centre`` so that orders it answers on the call have a lead like
    any other; an inactive department receives no new orders but keeps its history.
    """

    code = models.CharField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=12, choices=DepartmentKind.choices, default=DepartmentKind.DEPARTMENT)
    area = models.ForeignKey("regions.Area", verbose_name=_("服务区域"), on_delete=models.PROTECT, related_name="departments")
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("承办单位")
        verbose_name_plural = _("承办单位")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A member of staff. Residents are not users of this table (they sign in by phone and code)."""

    display_name = models.CharField(_("姓名"), max_length=60, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class RoleAssignment(models.Model):
    """A role held within a scope. Rules: a handler's scope is a department; every other role's scope
    is an area subtree (the city root for city-wide staff). Exactly one of the two is set, which a
    database constraint guarantees."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    area = models.ForeignKey(
        "regions.Area", verbose_name=_("区域范围"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("单位范围"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="role_assignments",
    )
    created_at = models.DateTimeField(_("授予时间"), default=timezone.now)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.CheckConstraint(
                name="role_scope_exactly_one",
                condition=(
                    (Q(role=Role.HANDLER) & Q(department__isnull=False) & Q(area__isnull=True))
                    | (~Q(role=Role.HANDLER) & Q(area__isnull=False) & Q(department__isnull=True))
                ),
            ),
            # NULLs never clash in a unique index, so area grants and department grants get one each.
            models.UniqueConstraint(
                fields=["user", "role", "area"], condition=Q(area__isnull=False), name="role_assignment_unique_area"
            ),
            models.UniqueConstraint(
                fields=["user", "role", "department"], condition=Q(department__isnull=False),
                name="role_assignment_unique_department",
            ),
        ]

    def __str__(self) -> str:
        scope = self.department or self.area
        return f"{self.user} · {self.get_role_display()} · {scope}"


class ApiToken(models.Model):
    """A bearer token for programs. Only a SHA-256 digest is stored: the token is shown once, at
    creation (``tongxin token create``), and cannot be read back from the database."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100, blank=True)
    prefix = models.CharField(_("前缀"), max_length=12, db_index=True)
    digest = models.CharField(_("摘要"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Notification(models.Model):
    """An in-app message to one user (reminders, supervision notices). Rules: ``dedupe_key`` is unique,
    so a job that runs twice notifies once; the object it concerns is named by type and id, so accounts
    depends on no domain."""

    recipient = models.ForeignKey(User, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("类型"), max_length=40)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    url = models.CharField(max_length=300, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    # The SMS outbox (urgent kinds): due when written, in the notification's own transaction; a sender
    # claims it for a lease, sends, then marks it sent. A lost task or a killed worker leaves it due (or
    # its lease expires) and the minute sweep sends it: at least once, never lost.
    sms_due = models.BooleanField(_("需发短信"), default=False)
    sms_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sms_sent_at = models.DateTimeField(_("短信发送时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notif_recipient_read"),
            models.Index(fields=["created_at"], name="notif_sms_pending",
                         condition=models.Q(sms_due=True, sms_sent_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.title}"


class LoginFailure(models.Model):
    """One failed staff sign-in (wrong password or wrong second-factor code), counted to lock an account
    name or an address out (tongxin/accounts/security.py). Rules: rows live in the database so every worker
    sees the same count; a success deletes the name's rows (never the address's, so an attacker's own
    account cannot reset the count of the address it attacks from); rows older than the window are purged.
    The audit log keeps the history; this table is only a counter."""

    username = models.CharField(_("用户名"), max_length=150, db_index=True)
    ip = models.CharField(_("来源地址"), max_length=64, db_index=True)
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("登录失败记录")
        verbose_name_plural = _("登录失败记录")

    def __str__(self) -> str:
        return f"{self.username}@{self.ip} {self.at:%Y-%m-%d %H:%M}"


class TotpDevice(models.Model):
    """A staff member's authenticator app (RFC 6238 TOTP, 30 s, 6 digits, SHA-1: what every app reads
    from a QR code). Rules: a device counts only once ``confirmed_at`` is set (the user typed one code
    back); ``last_step`` is the last time step accepted, so a code cannot be replayed within its window."""

    user = models.OneToOneField(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="totp_device")
    secret = models.CharField(_("密钥"), max_length=64)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("启用时间"), null=True, blank=True)
    last_step = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("双重验证设备")
        verbose_name_plural = _("双重验证设备")

    def __str__(self) -> str:
        return f"{self.user} TOTP"


class RecoveryCode(models.Model):
    """A one-time code that replaces the authenticator app once. Only a digest is stored; the codes are
    shown once, at enrolment. Rules: ``used_at`` set means spent; enrolling again replaces all of them."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(_("摘要"), max_length=64)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("恢复码")
        verbose_name_plural = _("恢复码")

    def __str__(self) -> str:
        return f"{self.user} recovery code"
