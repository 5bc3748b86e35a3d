"""The points ledger, its rules, the virtue tiers, the mall and volunteering.

The ledger is append-only: an :class:`Entry` is never updated or deleted (the model and its queryset
refuse; on PostgreSQL a trigger refuses too), a correction is a new entry that reverses an old one. An
:class:`Account` stores its balance for locking and for the check constraint ``balance >= 0``; the
balance is always the sum of the account's entries, which ``tongxin points verify`` proves.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import AppealStatus, AwardStatus, PointKind, RedemptionStatus, SignupStatus


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove a ledger entry."""


class Rule(models.Model):
    """An earning or deduction rule, configured in the admin. Rules: ``code`` is what callers name
    (``vote_cast``, ``report_confirmed``, ``volunteer_hours``, ``commendation``, ``uncivil_act``);
    ``amount`` is per unit (per hour for volunteering) and negative for a deduction; an inactive rule
    pays nothing; an award above ``approval_threshold`` (when set) waits for a second person's
    approval (the points supervision committee) instead of paying at once."""

    code = models.SlugField(_("规则代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=80)
    kind = models.CharField(_("积分类型"), max_length=10, choices=PointKind.choices)
    amount = models.IntegerField(_("分值（每次/每小时，负数为扣分）"))
    approval_threshold = models.PositiveIntegerField(_("需审核的分值上限"), null=True, blank=True,
                                                     help_text=_("单笔奖励超过此值须由另一人审核；留空则不需审核"))
    active = models.BooleanField(_("启用"), default=True)
    description = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("积分规则")
        verbose_name_plural = _("积分规则")
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="points_rule_amount_nonzero")]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Account(models.Model):
    """One resident's balance of one kind. Rules: one per (resident, kind); ``balance`` never below
    zero (check constraint) and always the sum of the entries; every movement locks this row first
    (select_for_update), so two spends cannot both pass the balance check."""

    resident = models.ForeignKey("residents.Resident", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("积分类型"), max_length=10, choices=PointKind.choices)
    balance = models.IntegerField(_("余额"), default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("积分账户")
        verbose_name_plural = _("积分账户")
        constraints = [
            models.UniqueConstraint(fields=["resident", "kind"], name="points_account_resident_kind"),
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="points_account_balance_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.get_kind_display()} {self.balance}"


class EntryQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("积分流水只能追加，不能修改")

    def delete(self) -> Any:
        raise AppendOnlyError("积分流水只能追加，不能删除")


class Entry(models.Model):
    """One movement of points. Rules: append-only; ``idempotency_key`` is unique, so the same cause
    never pays twice even when two workers race (the database refuses the second insert); a
    correction is a new entry with ``reverses`` set (each entry is reversed at most once, and a
    reversal is never itself reversed); ``amount`` is never zero."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.IntegerField(_("变动"))
    balance_after = models.IntegerField(_("变动后余额"))
    idempotency_key = models.CharField(_("幂等键"), max_length=120, unique=True)
    cause_label = models.CharField(_("原因"), max_length=200, blank=True)
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = EntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("积分流水")
        verbose_name_plural = _("积分流水")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="points_entry_amount_nonzero")]
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.amount:+d} {self.cause_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("积分流水只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("积分流水只能追加，不能删除")


class PendingAward(models.Model):
    """A large award waiting for the points supervision committee. Rules: ``idempotency_key`` is the
    cause's key (unique: a cause is proposed once); the approver must be a different user than the
    proposer; approval writes the entry with the same key, rejection writes nothing."""

    resident = models.ForeignKey("residents.Resident", on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="+")
    amount = models.IntegerField(_("分值"))
    idempotency_key = models.CharField(_("幂等键"), max_length=120, unique=True)
    cause_label = models.CharField(_("原因"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=AwardStatus.choices, default=AwardStatus.PENDING)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("审核意见"), max_length=300, blank=True)
    entry = models.OneToOneField(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("待审核奖励")
        verbose_name_plural = _("待审核奖励")
        ordering = ["-proposed_at"]

    def __str__(self) -> str:
        return f"{self.amount} {self.cause_label}"


class Appeal(models.Model):
    """A resident's appeal against a deduction. Rules: one per deduction entry; reviewed by staff of
    the resident's area; ``reversed`` writes a reversal entry, ``upheld`` writes nothing."""

    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="appeal")
    reason = models.CharField(_("申诉理由"), max_length=500)
    status = models.CharField(_("状态"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("复核意见"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("扣分申诉")
        verbose_name_plural = _("扣分申诉")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"appeal {self.entry_id} {self.status}"


class Tier(models.Model):
    """A virtue tier (品德等级): reached at ``min_points`` virtue points; ``privileges`` are its named
    entitlements, one per line (e.g. 服务大厅优先叫号)."""

    name = models.CharField(_("等级名称"), max_length=40)
    min_points = models.PositiveIntegerField(_("所需品德积分"), unique=True)
    privileges = models.TextField(_("权益（每行一项）"), blank=True)

    class Meta:
        verbose_name = _("品德等级")
        verbose_name_plural = _("品德等级")
        ordering = ["min_points"]

    def __str__(self) -> str:
        return self.name

    @property
    def privilege_list(self) -> list[str]:
        return [line.strip() for line in self.privileges.splitlines() if line.strip()]


class Item(models.Model):
    """A points-mall item. Rules: ``price`` in material points (> 0); ``stock`` never below zero
    (check constraint; redemption decrements it with a conditional UPDATE); ``area`` is where it is
    offered: residents of that subtree may redeem it, staff of that area operate it."""

    name = models.CharField(_("名称"), max_length=80)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    price = models.PositiveIntegerField(_("所需物质积分"))
    stock = models.IntegerField(_("库存"), default=0)
    area = models.ForeignKey("regions.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="+")
    pickup_place = models.CharField(_("领取地点"), max_length=200, blank=True)
    active = models.BooleanField(_("上架"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("商城商品")
        verbose_name_plural = _("商城商品")
        ordering = ["price", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="points_item_stock_nonnegative"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="points_item_price_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Redemption(models.Model):
    """A redemption (兑换). Rules: created with its spend entry and the stock decrement in one
    transaction; ``pickup_code`` (8 characters, unique) is shown as text and QR and handed to the mall
    operator; a pending redemption may be cancelled (refund by a reversal entry, stock returned);
    picked-up and cancelled are final."""

    resident = models.ForeignKey("residents.Resident", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="redemptions")
    price = models.PositiveIntegerField(_("积分"))
    pickup_code = models.CharField(_("领取码"), max_length=12, unique=True)
    status = models.CharField(_("状态"), max_length=10, choices=RedemptionStatus.choices,
                              default=RedemptionStatus.PENDING)
    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="+")
    refund_entry = models.OneToOneField(Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    picked_up_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("兑换记录")
        verbose_name_plural = _("兑换记录")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.item_id} {self.pickup_code}"


class Activity(models.Model):
    """A volunteering activity. Rules: ``capacity`` sign-ups at most (checked under a row lock);
    check-in and check-out are accepted within ``radius_m`` metres of (lat, lng) (WGS-84); the
    organiser (staff of the area) confirms hours, which pay by the ``volunteer_hours`` rule."""

    title = models.CharField(_("活动名称"), max_length=120)
    description = models.CharField(_("说明"), max_length=500, blank=True)
    area = models.ForeignKey("regions.Area", verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="+")
    location = models.CharField(_("地点"), max_length=200)
    lat = models.FloatField(_("纬度"))
    lng = models.FloatField(_("经度"))
    radius_m = models.PositiveIntegerField(_("签到半径（米）"), default=200)
    capacity = models.PositiveIntegerField(_("名额"))
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    organiser = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("志愿活动")
        verbose_name_plural = _("志愿活动")
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return self.title


class Signup(models.Model):
    """A resident's sign-up for an activity. Rules: one per (activity, resident); check-in before
    check-out, both on site; ``hours`` set once by the organiser's confirmation, which pays once
    (idempotency key ``volunteer:<signup id>``)."""

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="signups")
    resident = models.ForeignKey("residents.Resident", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=12, choices=SignupStatus.choices, default=SignupStatus.SIGNED_UP)
    created_at = models.DateTimeField(default=timezone.now)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_distance_m = models.FloatField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    checked_out_distance_m = models.FloatField(null=True, blank=True)
    hours = models.DecimalField(_("确认时长（小时）"), max_digits=5, decimal_places=1, null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("志愿报名")
        verbose_name_plural = _("志愿报名")
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["activity", "resident"], name="points_signup_once")]

    def __str__(self) -> str:
        return f"{self.activity_id} {self.resident_id}"


class SweepCursor(models.Model):
    """Where a periodic award job stopped (e.g. ``report_confirmed``): the next run starts there."""

    name = models.CharField(max_length=40, unique=True)
    until = models.DateTimeField()

    class Meta:
        verbose_name = _("积分任务进度")
        verbose_name_plural = _("积分任务进度")

    def __str__(self) -> str:
        return f"{self.name} {self.until:%Y-%m-%d %H:%M}"
