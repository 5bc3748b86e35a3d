"""Households, residents, merchants, their signed codes, the resident's one-time login codes, and the
link between a resident's report and the work order it became.

Personal data (PIPL): a resident's ID number is never stored, only a keyed digest (to verify a number
typed again) and a masked form; phones are stored (SMS needs them) and shown masked everywhere.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import PointSource, ReportState


class Building(models.Model):
    """A building (楼栋) of a community. Rules: ``area`` is the community, ``grid`` the grid it lies in
    (a grid of that community, when known); ``name`` ("3号楼") is unique within the community and is
    the natural key the importer matches on; ``lat``/``lng`` are WGS-84; ``footprint`` is an optional
    GeoJSON Polygon/MultiPolygon in WGS-84. Households name their building by ``building_ref`` and
    keep its name in their ``building`` text (the two are kept equal by the services)."""

    area = models.ForeignKey("regions.Area", verbose_name=_("所属社区"), on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey("regions.Area", verbose_name=_("所属网格"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("楼栋名称"), max_length=40)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    floors = models.PositiveSmallIntegerField(_("层数"), null=True, blank=True)
    units = models.PositiveSmallIntegerField(_("单元数"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    footprint = models.JSONField(_("轮廓 (GeoJSON, WGS-84)"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        constraints = [models.UniqueConstraint(fields=["area", "name"], name="building_area_name")]

    def __str__(self) -> str:
        return self.name


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
    building_ref = models.ForeignKey(Building, verbose_name=_("楼栋"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="households")
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
    """A person registered in a household. Rules: a phone (mobile: it receives the SMS login code) is
    optional — children have none — but at most once per household; the ID number
    is kept only as ``id_digest`` (HMAC-SHA256 with a key derived from SECRET_KEY) and ``id_masked``;
    ``birth_date`` is read from the 18-digit ID number when one is given (else typed by staff);
    ``is_owner`` (业主) means the person owns the household's property (owners' votes, Civil Code
    Art. 278); ``verified_at`` is set when staff checked the ID card in person, or when the person
    signed in with the SMS code sent to their own registered phone while an ID number is on file."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="residents")
    name = models.CharField(_("姓名"), max_length=60)
    phone = models.CharField(_("手机号"), max_length=20, db_index=True, blank=True)
    id_digest = models.CharField(_("身份证号摘要"), max_length=64, blank=True, editable=False)
    id_masked = models.CharField(_("身份证号（脱敏）"), max_length=24, blank=True, editable=False)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    is_owner = models.BooleanField(_("业主"), default=False, help_text=_("拥有本户房屋产权（业主表决用）"))
    verified_at = models.DateTimeField(_("实名核验时间"), null=True, blank=True)
    active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        constraints = [models.UniqueConstraint(fields=["household", "phone"], condition=~models.Q(phone=""),
                                               name="resident_household_phone_set")]

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
    """A resident's request (随手拍 or any report from the phone): first a durable receipt, then the
    work order it became. Rules: belongs to one household (or merchant); only that household's
    residents read it; the point is WGS-84 with its source. The request writes the row with
    ``state = received``, ``order`` NULL, everything needed to make the order later (content, kind,
    category code, channel, anonymous, reporter's name and phone) and the raw photos in
    ``ReportUpload`` — one transaction. ``services.report_register`` (a worker) makes the order once
    (the row is locked and ``order`` checked), links it, sets ``registered`` and deletes the staged
    bytes; an engine refusal sets ``failed`` with ``failure`` and keeps the bytes for an operator.
    ``receipt`` is the number the resident gets at once (random, unique: it reveals no counts). Once
    registered, ``content`` and ``reporter_name`` are emptied: the order holds them (one copy of
    personal data, which retention anonymises there)."""

    order = models.OneToOneField("workorders.WorkOrder", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="resident_report")
    receipt = models.CharField(_("回执号"), max_length=20)  # unique: a constraint below (no LIKE index)
    state = models.CharField(_("状态"), max_length=12, choices=ReportState.choices, default=ReportState.RECEIVED)
    # Indexed by the (place, -created_at) indexes below, which serve the foreign keys' lookups too: every
    # index is written by each receipt (ADR 0011).
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.PROTECT, related_name="reports",
                                  db_index=False)
    merchant = models.ForeignKey(Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="reports",
                                 db_index=False)
    resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    phone = models.CharField(max_length=20)
    reporter_name = models.CharField(max_length=60, blank=True)
    content = models.TextField(_("内容"), blank=True)
    kind = models.CharField(_("诉求类型"), max_length=16, blank=True)
    category_code = models.CharField(max_length=32, blank=True)
    channel = models.CharField(max_length=8, blank=True)
    anonymous = models.BooleanField(default=False)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    point_source = models.CharField(max_length=8, choices=PointSource.choices, default=PointSource.NONE)
    photos = models.PositiveSmallIntegerField(default=0)
    category_suggested = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    registered_at = models.DateTimeField(_("登记时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("登记尝试次数"), default=0)
    failure = models.TextField(_("登记失败原因"), blank=True)

    class Meta:
        verbose_name = _("居民诉求")
        verbose_name_plural = _("居民诉求")
        indexes = [models.Index(fields=["household", "-created_at"]), models.Index(fields=["merchant", "-created_at"]),
                   # the sweep's query: receipts still waiting, oldest first (a small partial index)
                   models.Index(fields=["created_at"], condition=models.Q(state="received"),
                                name="report_received_created")]
        constraints = [models.UniqueConstraint(fields=["receipt"], name="report_receipt_unique")]

    def __str__(self) -> str:
        return f"{self.receipt} ({self.get_state_display()})"


class ReportUpload(models.Model):
    """A photo of a receipt as the resident sent it, staged in the database so that the receipt's one
    COMMIT makes it durable (no file is written outside the transaction). Rules: checked only by type
    and header when written; decoded, re-encoded and attached to the order by ``report_register``,
    which then deletes the row; kept while the report is ``failed`` (an operator may retry)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="uploads",
                               db_index=False)  # the unique (report, index) index serves it
    index = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100, blank=True)
    content_type = models.CharField(max_length=40)
    data = models.BinaryField()

    class Meta:
        verbose_name = _("诉求照片（待登记）")
        verbose_name_plural = _("诉求照片（待登记）")
        constraints = [models.UniqueConstraint(fields=["report", "index"], name="report_upload_index")]

    def __str__(self) -> str:
        return f"{self.report_id}#{self.index}"


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



class RecordChange(models.Model):
    """One change of basic information (基础信息变更记录): who created, edited or imported which record,
    field by field. Rules: append-only (written in the same transaction as the change by the services;
    never updated or deleted); ``changes`` maps a field to ``[before, after]`` with personal data
    (phones, ID numbers) already masked, so reading the history reveals nothing."""

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey("accounts.User", verbose_name=_("操作人"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(_("操作人名称"), max_length=150, blank=True)
    object_type = models.CharField(_("对象类型"), max_length=20)
    object_id = models.PositiveBigIntegerField(_("对象编号"))
    action = models.CharField(_("操作"), max_length=12)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("基础信息变更记录")
        verbose_name_plural = _("基础信息变更记录")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.object_type}#{self.object_id} {self.action}"
