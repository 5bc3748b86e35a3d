"""Categories, SLA policies, the dispatch catalogue, work orders and their append-only events."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.choices import LimitUnit

from .choices import (
    AssignmentRole,
    Channel,
    ExtensionStatus,
    Kind,
    ReturnReason,
    Satisfaction,
    Status,
    UnsatisfiedCause,
    Urgency,
)


class SlaPolicy(models.Model):
    """A named set of time limits. Rules: a category without a policy inherits its parent's; the
    default policy (``is_default``) applies where no ancestor has one. Limits live in ``SlaRule`` rows;
    ``warning_ratio`` is the share of the allowed time after which the clock turns yellow."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    warning_ratio = models.FloatField(_("预警比例"), default=0.8, help_text=_("用去该比例的时限后亮黄灯"))
    is_default = models.BooleanField(_("默认策略"), default=False)

    class Meta:
        verbose_name = _("时限策略")
        verbose_name_plural = _("时限策略")
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_sla")]

    def __str__(self) -> str:
        return self.name


class SlaRule(models.Model):
    """Sign-off and completion limits for one urgency and, optionally, one request kind. Rules: the
    row for (urgency, kind) wins over the row for (urgency, any kind); where a policy has no row for an
    urgency, the built-in defaults of ``workorders.sla.DEFAULT_RULES`` apply."""

    policy = models.ForeignKey(SlaPolicy, verbose_name=_("策略"), on_delete=models.CASCADE, related_name="rules")
    urgency = models.CharField(_("紧急程度"), max_length=10, choices=Urgency.choices)
    kind = models.CharField(_("诉求类型"), max_length=12, choices=Kind.choices, blank=True, help_text=_("留空表示所有类型"))
    sign_value = models.FloatField(_("签收时限"))
    sign_unit = models.CharField(_("签收时限单位"), max_length=16, choices=LimitUnit.choices)
    completion_value = models.FloatField(_("办结时限"))
    completion_unit = models.CharField(_("办结时限单位"), max_length=16, choices=LimitUnit.choices)

    class Meta:
        verbose_name = _("时限规则")
        verbose_name_plural = _("时限规则")
        constraints = [models.UniqueConstraint(fields=["policy", "urgency", "kind"], name="sla_rule_unique")]

    def __str__(self) -> str:
        return f"{self.policy} {self.get_urgency_display()} {self.get_kind_display() or '全部'}"


class Category(models.Model):
    """A node of the three-level category tree (一级/二级/三级分类). Rules: level = parent's level + 1,
    at most 3; ``path`` is the materialised path of primary keys maintained by the services;
    ``initials`` holds the pinyin initials of the name for quick search (e.g. "ljql" for 垃圾清理)."""

    code = models.CharField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级分类"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    level = models.PositiveSmallIntegerField(_("层级"), default=1, editable=False)
    path = models.CharField(_("路径"), max_length=100, db_index=True, editable=False, default="")
    sla_policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("时限策略"), null=True, blank=True, on_delete=models.PROTECT, related_name="categories"
    )
    keywords = models.CharField(_("关键词"), max_length=300, blank=True)
    initials = models.CharField(_("拼音首字母"), max_length=100, blank=True, editable=False)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("诉求分类")
        verbose_name_plural = _("诉求分类")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name


class DispatchRule(models.Model):
    """One line of the dispatch catalogue (派单目录): category × area → lead and co-handling departments.

    Rules: an empty category or area matches everything; a rule for a category matches the category
    and everything below it, likewise for areas. Precedence (the most specific rule wins): the deeper
    category first, then the deeper area, then the higher ``priority``. Inactive rules are ignored.
    """

    category = models.ForeignKey(
        Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.CASCADE, related_name="dispatch_rules"
    )
    area = models.ForeignKey(
        "regions.Area", verbose_name=_("区域"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    lead_department = models.ForeignKey(
        "accounts.Department", verbose_name=_("主办单位"), on_delete=models.PROTECT, related_name="+"
    )
    co_departments = models.ManyToManyField("accounts.Department", verbose_name=_("协办单位"), blank=True, related_name="+")
    priority = models.IntegerField(_("优先级"), default=0)
    active = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("派单目录")
        verbose_name_plural = _("派单目录")

    def __str__(self) -> str:
        return f"{self.category or '全部分类'} × {self.area or '全部区域'} → {self.lead_department}"


class DailyCounter(models.Model):
    """Per-day sequence for human-readable order numbers (20261123 + 00017). Incremented by one atomic
    upsert, so two intakes at once never get the same number."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("工单编号计数器")
        verbose_name_plural = _("工单编号计数器")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class WorkOrderQuerySet(models.QuerySet["WorkOrder"]):
    pass


class WorkOrder(models.Model):
    """One citizen request (诉求/工单), whatever the channel.

    Rules: ``status`` changes only through ``workflow.transition`` (never assigned elsewhere), which
    bumps ``version`` and writes a ``WorkOrderEvent`` in the same transaction; ``area_path`` copies the
    area's materialised path so jurisdiction filters need no join; deadlines are stored, computed by the
    working calendar; the citizen's phone is personal data, masked in every output unless revealed.
    """

    number = models.CharField(_("工单编号"), max_length=20)
    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices)
    kind = models.CharField(_("诉求类型"), max_length=12, choices=Kind.choices)
    urgency = models.CharField(_("紧急程度"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.ACCEPTED)
    version = models.PositiveIntegerField(_("版本"), default=1)
    title = models.CharField(_("标题"), max_length=200, blank=True)
    content = models.TextField(_("诉求内容"))
    category = models.ForeignKey(
        Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.PROTECT, related_name="work_orders"
    )
    # Location, always WGS-84 (inputs in GCJ-02 or BD-09 are converted on the way in).
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    area = models.ForeignKey("regions.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(max_length=255, editable=False)
    # The citizen. Anonymous requests keep neither name nor phone.
    citizen_name = models.CharField(_("诉求人"), max_length=60, blank=True)
    citizen_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    anonymous = models.BooleanField(_("匿名"), default=False)
    is_repeat = models.BooleanField(_("重复诉求"), default=False, help_text=_("同一来电人30天内同一分类的再次诉求"))
    external_id = models.CharField(_("外部编号"), max_length=64, blank=True)
    # Handling.
    lead_department = models.ForeignKey(
        "accounts.Department", verbose_name=_("主办单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,  # wo_dept_status_due leads with it
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("受理人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(_("受理时间"), default=timezone.now, db_index=True)
    dispatched_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    sign_due_at = models.DateTimeField(_("签收期限"), null=True, blank=True)
    sign_warn_at = models.DateTimeField(_("签收预警时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("办结期限"), null=True, blank=True)
    due_warn_at = models.DateTimeField(_("办结预警时间"), null=True, blank=True)
    # SLA sweep markers: the deadline a reminder / supervision was last raised for (idempotency).
    sign_reminded_for = models.DateTimeField(null=True, blank=True, editable=False)
    due_reminded_for = models.DateTimeField(null=True, blank=True, editable=False)
    supervised_for = models.DateTimeField(null=True, blank=True, editable=False)
    reply_text = models.TextField(_("答复内容"), blank=True)
    # Callback.
    satisfaction = models.CharField(_("满意度"), max_length=20, choices=Satisfaction.choices, blank=True)
    unsatisfied_cause = models.CharField(_("不满意原因"), max_length=20, choices=UnsatisfiedCause.choices, blank=True)
    callback_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    # Links.
    merged_into = models.ForeignKey(
        "self", verbose_name=_("并入工单"), null=True, blank=True, on_delete=models.PROTECT, related_name="merged_orders",
        db_index=False,  # a partial index below: almost every order has none
    )
    redo_of = models.ForeignKey(
        "self", verbose_name=_("重办自"), null=True, blank=True, on_delete=models.PROTECT, related_name="redos",
        db_index=False,  # a partial index below
    )

    objects = WorkOrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        ordering = ["-accepted_at", "-id"]
        indexes = [
            models.Index(fields=["lead_department", "status", "due_at"], name="wo_dept_status_due"),
            models.Index(fields=["lead_department", "status", "sign_due_at"], name="wo_dept_status_signdue"),
            models.Index(fields=["status", "due_at"], name="wo_status_due"),
            models.Index(fields=["status", "sign_due_at"], name="wo_status_signdue"),
            # Jurisdiction filters are prefix matches (area_path LIKE '/1/7/%'): on PostgreSQL the pattern
            # operator class lets one index serve them (and a time window) under any collation; other
            # databases ignore opclasses.
            models.Index(fields=["area_path", "accepted_at"], name="wo_areapath_accepted",
                         opclasses=["varchar_pattern_ops", "timestamptz_ops"]),
            models.Index(fields=["citizen_phone", "accepted_at"], name="wo_phone_accepted"),
            models.Index(fields=["external_id"], name="wo_external_id", condition=models.Q(external_id__gt="")),
            models.Index(fields=["merged_into"], name="wo_merged_into", condition=models.Q(merged_into__isnull=False)),
            models.Index(fields=["redo_of"], name="wo_redo_of", condition=models.Q(redo_of__isnull=False)),
        ]
        constraints = [models.UniqueConstraint(fields=["number"], name="wo_number_unique")]

    def __str__(self) -> str:
        return self.number


class WorkOrderAssignment(models.Model):
    """A department's part in an order: the lead (主办) or a co-handler (协办).

    Rules: at most one active lead assignment per order (a partial unique constraint); a reassignment
    deactivates the old lead's row and adds a new one, so the old department keeps its history
    (the "returned" tab) and KPIs can be computed per assignment.
    """

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="assignments")
    department = models.ForeignKey("accounts.Department", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("角色"), max_length=4, choices=AssignmentRole.choices)
    active = models.BooleanField(_("有效"), default=True)
    assigned_at = models.DateTimeField(_("派单时间"), default=timezone.now)
    sign_due_at = models.DateTimeField(_("签收期限"), null=True, blank=True)
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    returned_at = models.DateTimeField(_("退单时间"), null=True, blank=True)
    return_reason = models.CharField(_("退单原因"), max_length=20, choices=ReturnReason.choices, blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    reply_text = models.TextField(_("答复内容"), blank=True)

    class Meta:
        verbose_name = _("承办分工")
        verbose_name_plural = _("承办分工")
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(active=True, role="lead"), name="one_active_lead_per_order"
            ),
        ]
        indexes = [models.Index(fields=["department", "role", "assigned_at"], name="woa_dept_role_assigned")]

    def __str__(self) -> str:
        return f"{self.order} {self.get_role_display()} {self.department}"


class ExtensionRequest(models.Model):
    """A lead department's request for more time. Rules: only while the order is in progress and
    before its completion deadline; at most one pending request per order; the requested deadline
    must be later than the current one."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="extension_requests")
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    previous_due_at = models.DateTimeField()
    requested_due_at = models.DateTimeField(_("申请延至"))
    reason = models.TextField(_("延期理由"))
    status = models.CharField(max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(status="pending"), name="one_pending_extension"),
        ]

    def __str__(self) -> str:
        return f"{self.order} → {self.requested_due_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"


class Attachment(models.Model):
    """A file attached to an order (photo, scan of a reply). Rules: stored under a random name; the
    original name is kept for display only."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="workorders/%Y/%m/")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return self.name


class WorkOrderEvent(models.Model):
    """One step in an order's life. Rules: append-only (the application never updates or deletes a
    row); written in the same transaction as the change; the timeline is rebuilt from these rows alone.
    ``actor`` is empty for the system (the SLA sweep)."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events",
                              db_index=False)  # woe_order_at leads with it
    action = models.CharField(_("动作"), max_length=20)
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_role = models.CharField(_("角色"), max_length=20, blank=True)
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    department = models.ForeignKey("accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("工单流转记录")
        verbose_name_plural = _("工单流转记录")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="woe_order_at")]

    def __str__(self) -> str:
        return f"{self.order} {self.action} {self.from_status}→{self.to_status}"


class KnowledgeArticle(models.Model):
    """A question and its answer, for resolving calls on the spot (知识库). Edited by supervisors."""

    question = models.CharField(_("问题"), max_length=300)
    answer = models.TextField(_("答案"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    keywords = models.CharField(_("关键词"), max_length=300, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("知识库")
        verbose_name_plural = _("知识库")

    def __str__(self) -> str:
        return self.question
