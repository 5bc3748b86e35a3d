"""Choices of the points room: the two kinds of points, the states of a pending award, an appeal, a
redemption, and the audit event names this room writes (core's AuditEventType lists them only as
strings until core adds them: ``audit_record`` takes any string)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PointKind(models.TextChoices):
    """物质积分 is spendable in the mall; 品德积分 is reputation: never spent, it accumulates into tiers."""

    MATERIAL = "material", _("物质积分")
    VIRTUE = "virtue", _("品德积分")


class AwardStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已驳回")


class AppealStatus(models.TextChoices):
    PENDING = "pending", _("待复核")
    UPHELD = "upheld", _("维持扣分")
    REVERSED = "reversed", _("撤销扣分")


class RedemptionStatus(models.TextChoices):
    PENDING = "pending", _("待领取")
    PICKED_UP = "picked_up", _("已领取")
    CANCELLED = "cancelled", _("已取消")


class SignupStatus(models.TextChoices):
    SIGNED_UP = "signed_up", _("已报名")
    CHECKED_IN = "checked_in", _("已签到")
    CHECKED_OUT = "checked_out", _("已签退")
    CONFIRMED = "confirmed", _("时长已确认")
    CANCELLED = "cancelled", _("已取消")


# The built-in rules (the admin changes amounts, thresholds and activity; the codes are what callers use).
RULE_VOTE_CAST = "vote_cast"
RULE_REPORT_CONFIRMED = "report_confirmed"
RULE_VOLUNTEER_HOURS = "volunteer_hours"
RULE_COMMENDATION = "commendation"
RULE_UNCIVIL_ACT = "uncivil_act"


class PointsAudit:
    """Audit event names of this room (strings: core's enum does not list them yet)."""

    PRIORITY_CHECK = "points_priority_check"
    AWARD_APPROVED = "points_award_approved"
    AWARD_REJECTED = "points_award_rejected"
    APPEAL_DECIDED = "points_appeal_decided"
    ENTRY_REVERSED = "points_entry_reversed"
    PICKUP = "points_pickup"
