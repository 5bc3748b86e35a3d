"""Households, residents, merchants, their signed codes, the resident's one-time login codes, and the
link between a resident's report and the work order it became.

Personal data (PIPL): a resident's ID number is never stored, only a keyed digest (to verify a number
typed again) and a masked form; phones are stored (SMS needs them) and shown masked everywhere.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import PointSource


class Household(models.Model):
    """One dwelling (户). Rules: ``area`` is the community or grid it belongs to (``grid`` is the grid
    when known); ``floor_area`` (m², 专有部分面积) weighs property-owner votes (Civil Code Art. 278);
    ``code_version`` is signed into its QR code: bumping it kills every printed copy (a lost sticker),
    and a revoked code stays dead until it is re-issued."""

    area = models.ForeignKey("regions.Area", verbose_name=_("所属社区"), on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey("regions.Area", verbose_name=_("所属网格"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    address = models.CharField(_("地址"), max_length=300)
    building = models.CharField(_("楼栋"), max_length=40, blank=True)
    unit = models.CharField(_("单元"), max_length=40, blank=True)
    room = models.CharField(_("门牌号"), max_length=40, blank=True)
    floor_area = models.DecimalField(_("面积（平方米）"), max_digits=9, decimal_places=2, null=True, blank=True)
    code_version = models.PositiveIntegerField(_("二维码版本"), default=1)
    code_revoked_at = models.DateTimeField(_("二维码停用时间"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("住户")
        verbose_name_plural = _("住户")
        indexes = [models.Index(fields=["area", "building", "unit"])]

    def __str__(self) -> str:
        return self.address


class Resident(models.Model):
    """A person registered in a household. Rules: one phone per household at most once; the ID number
    is kept only as ``id_digest`` (HMAC-SHA256 with a key derived from SECRET_KEY) and ``id_masked``."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="residents")
    name = models.CharField(_("姓名"), max_length=60)
    phone = models.CharField(_("手机号"), max_length=20, db_index=True)
    id_digest = models.CharField(_("身份证号摘要"), max_length=64, blank=True, editable=False)
    id_masked = models.CharField(_("身份证号（脱敏）"), max_length=24, blank=True, editable=False)
    active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        constraints = [models.UniqueConstraint(fields=["household", "phone"], name="resident_household_phone")]

    def __str__(self) -> str:
        return f"{self.name[:1]}*"


class Merchant(models.Model):
    """A shop (商户) with its own code, like a household's. ``phone`` is the contact who signs in."""

    name = models.CharField(_("名称"), max_length=120)
    licence_number = models.CharField(_("统一社会信用代码/营业执照号"), max_length=40, blank=True)
    address = models.CharField(_("地址"), max_length=300)
    area = models.ForeignKey("regions.Area", verbose_name=_("所属社区"), on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey("regions.Area", verbose_name=_("所属网格"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    contact_name = models.CharField(_("联系人"), max_length=60, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True, db_index=True)
    code_version = models.PositiveIntegerField(_("二维码版本"), default=1)
    code_revoked_at = models.DateTimeField(_("二维码停用时间"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("商户")
        verbose_name_plural = _("商户")

    def __str__(self) -> str:
        return self.name


class LoginCode(models.Model):
    """A one-time SMS code. Rules: 6 digits, stored only as a keyed digest; valid 5 minutes; a few
    wrong attempts kill it; used once. ``kind``/``target_id`` name the code (household or merchant)
    that was scanned, so the session is bound to that place."""

    phone = models.CharField(max_length=20, db_index=True)
    kind = models.CharField(max_length=1)
    target_id = models.PositiveBigIntegerField()
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("短信验证码")
        verbose_name_plural = _("短信验证码")

    def __str__(self) -> str:
        return f"{self.kind}{self.target_id} {self.created_at:%Y-%m-%d %H:%M}"


class Report(models.Model):
    """A resident's request (随手拍 or any report from the phone) and the work order it became. Rules:
    belongs to one household (or merchant); only that household's residents read it; the point is
    WGS-84 with its source; photos are attachments of the order (re-encoded, no EXIF)."""

    order = models.OneToOneField("workorders.WorkOrder", on_delete=models.PROTECT, related_name="resident_report")
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.PROTECT, related_name="reports")
    merchant = models.ForeignKey(Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="reports")
    resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    phone = models.CharField(max_length=20)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    point_source = models.CharField(max_length=8, choices=PointSource.choices, default=PointSource.NONE)
    photos = models.PositiveSmallIntegerField(default=0)
    category_suggested = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("居民诉求")
        verbose_name_plural = _("居民诉求")
        indexes = [models.Index(fields=["household", "-created_at"]), models.Index(fields=["merchant", "-created_at"])]

    def __str__(self) -> str:
        return f"report of order {self.order_id}"


class Rating(models.Model):
    """The resident's own satisfaction rating of a reply. It is recorded on the order through the
    engine's callback (or redo) service, so it counts in the satisfaction KPIs exactly once; this row
    keeps who rated and whether it reopened the request."""

    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="rating")
    satisfaction = models.CharField(max_length=24)
    cause = models.CharField(max_length=24, blank=True)
    note = models.CharField(max_length=500, blank=True)
    reopened_order = models.ForeignKey("workorders.WorkOrder", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("居民评价")
        verbose_name_plural = _("居民评价")

    def __str__(self) -> str:
        return f"{self.satisfaction} ({self.report_id})"

