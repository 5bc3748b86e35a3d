"""Mediation organisations, mediators, dispute cases, their parties, hand-overs, sessions, follow-ups,
links to work orders and the append-only case timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import (
    DisputeType,
    FailureGuidance,
    HandoverKind,
    HandoverStatus,
    Level,
    MediatorGrade,
    OrgKind,
    PartyKind,
    PartySide,
    SessionKind,
    Source,
    Status,
)


class MediationOrg(models.Model):
    """A mediation organisation (调解组织): a community committee, a town or district governance centre,
    the city centre, or a professional one (medical, traffic, labour, …).

    Rules: ``level`` follows the level of ``area`` (a grid is never an organisation's area);
    ``area_path`` copies the area's path so jurisdiction filters need no join; ``specialities`` is a list
    of ``DisputeType`` values (empty: all kinds, as for people's mediation committees)."""

    code = models.CharField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=120)
    kind = models.CharField(_("类型"), max_length=20, choices=OrgKind.choices)
    level = models.CharField(_("层级"), max_length=12, choices=Level.choices)
    area = models.ForeignKey("regions.Area", verbose_name=_("所在区域"), on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(max_length=255, db_index=True, editable=False)
    specialities = models.JSONField(_("擅长领域"), default=list, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("调解组织")
        verbose_name_plural = _("调解组织")
        ordering = ["area_path", "code"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):  # the copied path only; no business rule lives here
        if self.area_id:
            self.area_path = self.area.path
        super().save(*args, **kwargs)


class Mediator(models.Model):
    """A mediator (调解员) of one organisation. Rules: a mediator who signs in has a ``user`` and holds the
    ``mediator`` role on the organisation's area (services.mediator_ensure grants it); ``is_expert`` puts the
    mediator in the expert pool (专家库), searchable by speciality and language."""

    org = models.ForeignKey(MediationOrg, verbose_name=_("所属组织"), on_delete=models.PROTECT, related_name="mediators")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登录账号"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="mediator_profiles",
    )
    name = models.CharField(_("姓名"), max_length=60)
    grade = models.CharField(_("级别"), max_length=10, choices=MediatorGrade.choices, default=MediatorGrade.REGULAR)
    specialities = models.JSONField(_("擅长领域"), default=list, blank=True)
    languages = models.JSONField(_("工作语言"), default=list, blank=True)
    is_expert = models.BooleanField(_("专家库成员"), default=False)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    active = models.BooleanField(_("在岗"), default=True)

    class Meta:
        verbose_name = _("调解员")
        verbose_name_plural = _("调解员")
        ordering = ["org_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "user"], condition=Q(user__isnull=False), name="mediator_one_per_org_user"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.org}）"


class DisputeCase(models.Model):
    """One dispute case (矛盾纠纷).

    Rules: ``status`` changes only through ``workflow.apply_transition``, which bumps ``version`` and writes
    a ``CaseEvent`` in the same transaction. 首接首办: ``owner_org`` is the receiving organisation until a
    hand-over is accepted. ``received_level`` is fixed at intake; ``level`` is the owner's level now;
    ``max_depth`` is the shallowest depth (highest level) that has owned the case: the targets read it.
    ``concluded_at`` is stamped once, at agreement or failure. Parties' phones and ID numbers are masked in
    every output unless revealed (audited)."""

    number = models.CharField(_("案件编号"), max_length=20, unique=True)
    title = models.CharField(_("案由"), max_length=200)
    description = models.TextField(_("纠纷简要情况"))
    dispute_type = models.CharField(_("纠纷类型"), max_length=24, choices=DisputeType.choices)
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    amount = models.DecimalField(_("涉及金额（元）"), max_digits=14, decimal_places=2, null=True, blank=True)
    people_count = models.PositiveIntegerField(_("涉及人数"), default=2)
    risk_violence = models.BooleanField(_("有暴力倾向"), default=False)
    risk_group = models.BooleanField(_("有群体性事件风险"), default=False)
    risk_petition = models.BooleanField(_("有信访史"), default=False)
    area = models.ForeignKey("regions.Area", verbose_name=_("发生地"), on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(max_length=255, db_index=True, editable=False)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.RECEIVED)
    version = models.PositiveIntegerField(_("版本"), default=1)
    received_org = models.ForeignKey(MediationOrg, verbose_name=_("首接组织"), on_delete=models.PROTECT, related_name="+")
    owner_org = models.ForeignKey(MediationOrg, verbose_name=_("承办组织"), on_delete=models.PROTECT, related_name="cases")
    received_level = models.CharField(_("受理层级"), max_length=12, choices=Level.choices)
    level = models.CharField(_("当前层级"), max_length=12, choices=Level.choices)
    max_depth = models.PositiveSmallIntegerField(_("最高到达层级深度"), help_text=_("0 市级 … 3 村社区级"))
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("受理人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(_("受理时间"), db_index=True)
    case_leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("包案领导"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    # Outcome.
    agreement_text = models.TextField(_("调解协议内容"), blank=True)
    agreement_scan = models.FileField(_("签字协议扫描件"), upload_to="mediation/%Y/%m/", blank=True)
    agreed_at = models.DateTimeField(_("达成协议时间"), null=True, blank=True)
    judicial_confirmed_at = models.DateTimeField(_("司法确认时间"), null=True, blank=True)
    judicial_court = models.CharField(_("确认法院"), max_length=100, blank=True)
    judicial_number = models.CharField(_("确认文书号"), max_length=60, blank=True)
    failure_guidance = models.CharField(_("引导途径"), max_length=16, choices=FailureGuidance.choices, blank=True)
    failure_note = models.TextField(_("调解不成说明"), blank=True)
    concluded_at = models.DateTimeField(_("调结时间"), null=True, blank=True, db_index=True)
    concluded_level = models.CharField(_("调结层级"), max_length=12, choices=Level.choices, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    follow_up_days = models.PositiveSmallIntegerField(_("回访间隔（天）"), default=15)
    next_follow_up_at = models.DateTimeField(_("下次回访时间"), null=True, blank=True, db_index=True)
    source_work_order = models.ForeignKey(
        "workorders.WorkOrder", verbose_name=_("来源工单"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("矛盾纠纷案件")
        verbose_name_plural = _("矛盾纠纷案件")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["area_path", "received_at"], name="md_areapath_received"),
            models.Index(fields=["status", "next_follow_up_at"], name="md_status_followup"),
        ]

    def __str__(self) -> str:
        return self.number


class Party(models.Model):
    """A party to a dispute: a person or an organisation. The phone and the ID number are personal data
    and are never stored in clear: ``*_enc`` holds the value sealed with a key outside the database
    (tongxin.core.fieldcrypt, bound to its column), ``*_masked`` what lists and pages show, ``id_digest``
    a keyed digest for finding earlier cases of the same person. Only ``personal.py`` reads or writes
    them; the clear values are shown only through the audited reveal."""

    case = models.ForeignKey(DisputeCase, on_delete=models.CASCADE, related_name="parties")
    kind = models.CharField(_("类型"), max_length=12, choices=PartyKind.choices, default=PartyKind.PERSON)
    side = models.CharField(_("当事方"), max_length=12, choices=PartySide.choices, default=PartySide.APPLICANT)
    name = models.CharField(_("姓名或名称"), max_length=100)
    phone_enc = models.TextField(_("联系电话（密文）"), blank=True, editable=False)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True, editable=False)
    id_number_enc = models.TextField(_("证件号码（密文）"), blank=True, editable=False)
    id_digest = models.CharField(_("证件号码摘要"), max_length=64, blank=True, db_index=True, editable=False)
    id_masked = models.CharField(_("证件号码"), max_length=30, blank=True, editable=False)

    class Meta:
        verbose_name = _("当事人")
        verbose_name_plural = _("当事人")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Handover(models.Model):
    """A formal hand-over (分流 to a unit at the same level or below, 上报 exactly one level up). Rules: at
    most one pending per case; the case stays with ``from_org`` (首接首办) until ``to_org`` accepts."""

    case = models.ForeignKey(DisputeCase, on_delete=models.CASCADE, related_name="handovers")
    kind = models.CharField(_("方式"), max_length=10, choices=HandoverKind.choices)
    from_org = models.ForeignKey(MediationOrg, verbose_name=_("移交方"), on_delete=models.PROTECT, related_name="+")
    to_org = models.ForeignKey(MediationOrg, verbose_name=_("接收方"), on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("移交理由"))
    previous_status = models.CharField(max_length=12, choices=Status.choices)
    status = models.CharField(_("状态"), max_length=10, choices=HandoverStatus.choices, default=HandoverStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("移交记录")
        verbose_name_plural = _("移交记录")
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(status="pending"), name="md_one_pending_handover"),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.from_org} → {self.to_org}"


class Session(models.Model):
    """A mediation session, a joint meeting (联席会议) or a joint visit (联合下访)."""

    case = models.ForeignKey(DisputeCase, on_delete=models.CASCADE, related_name="sessions")
    kind = models.CharField(_("类型"), max_length=16, choices=SessionKind.choices, default=SessionKind.SESSION)
    org = models.ForeignKey(MediationOrg, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("时间"))
    place = models.CharField(_("地点"), max_length=200)
    mediators = models.ManyToManyField(Mediator, verbose_name=_("调解员"), blank=True, related_name="sessions")
    attendees = models.TextField(_("参加人员"), blank=True)
    notes = models.TextField(_("记录 / 议定事项"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("调解与联合化解记录")
        verbose_name_plural = _("调解与联合化解记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case} {self.get_kind_display()} {self.at:%Y-%m-%d}"


class FollowUp(models.Model):
    """A follow-up visit (回访) after an agreement. Rules: ``due_at`` is the case's ``next_follow_up_at`` at
    the time it was done, so lateness is kept."""

    case = models.ForeignKey(DisputeCase, on_delete=models.CASCADE, related_name="follow_ups")
    due_at = models.DateTimeField(_("应回访时间"))
    done_at = models.DateTimeField(_("回访时间"))
    stable = models.BooleanField(_("协议履行稳定"), default=True)
    note = models.TextField(_("回访情况"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("回访记录")
        verbose_name_plural = _("回访记录")
        ordering = ["done_at", "id"]

    def __str__(self) -> str:
        return f"{self.case} {self.done_at:%Y-%m-%d}"


class CaseWorkOrderLink(models.Model):
    """A case and a 12345 work order that belong together: the order the case came from, or an order the
    case raised for a department. Both timelines carry the link."""

    FROM_ORDER = "from_order"
    RAISED = "raised"
    case = models.ForeignKey(DisputeCase, on_delete=models.CASCADE, related_name="work_order_links")
    work_order = models.ForeignKey("workorders.WorkOrder", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=12, choices=[(FROM_ORDER, _("由工单转入")), (RAISED, _("由案件转办"))])
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("关联工单")
        verbose_name_plural = _("关联工单")
        constraints = [models.UniqueConstraint(fields=["case", "work_order"], name="md_case_order_unique")]

    def __str__(self) -> str:
        return f"{self.case} ↔ {self.work_order_id}"


class CaseEvent(models.Model):
    """One step of a case's life. Append-only (never updated or deleted); written in the transaction of the
    change; the timeline is rebuilt from these rows alone."""

    case = models.ForeignKey(DisputeCase, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("动作"), max_length=20)
    from_status = models.CharField(_("原状态"), max_length=12, blank=True)
    to_status = models.CharField(_("新状态"), max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_role = models.CharField(_("角色"), max_length=20, blank=True)
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    org = models.ForeignKey(MediationOrg, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("案件流转记录")
        verbose_name_plural = _("案件流转记录")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="mde_case_at")]

    def __str__(self) -> str:
        return f"{self.case} {self.action}"


class CaseCounter(models.Model):
    """Per-year sequence for case numbers (TJ2026 + 00017), incremented under a row lock."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("案件编号计数器")
        verbose_name_plural = _("案件编号计数器")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"
