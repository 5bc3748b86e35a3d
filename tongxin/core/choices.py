from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEventType(models.TextChoices):
    """Every kind of audited event outside a work order's own timeline. Append-only: add, never rename."""

    PERSONAL_DATA_REVEAL = "personal_data_reveal", _("查看个人信息")
    ROLE_GRANTED = "role_granted", _("授予角色")
    ROLE_REVOKED = "role_revoked", _("撤销角色")
    TOKEN_CREATED = "token_created", _("创建接口令牌")
    TOKEN_REVOKED = "token_revoked", _("吊销接口令牌")
    CALENDAR_CHANGED = "calendar_changed", _("修改工作日历")
    CATALOGUE_CHANGED = "catalogue_changed", _("修改派单目录")
    AREA_IMPORTED = "area_imported", _("导入区域")
    LOGIN_FAILED = "login_failed", _("登录失败")
    SLA_SWEEP = "sla_sweep", _("时限巡检")
    # Staff login (accounts.security)
    LOGIN_LOCKED = "login_locked", _("登录锁定")
    TOTP_ENABLED = "totp_enabled", _("启用动态口令")
    TOTP_DISABLED = "totp_disabled", _("停用动态口令")
    RECOVERY_CODE_USED = "recovery_code_used", _("使用恢复码")
    RETENTION_ANONYMISED = "retention_anonymised", _("到期个人信息匿名化")
    # The grid roster (regions)
    GRID_ROSTER_CHANGED = "grid_roster_changed", _("网格人员变更")
    # Consultations (participation)
    TOPIC_CREATED = "topic_created", _("创建议题")
    TOPIC_UPDATED = "topic_updated", _("修改议题")
    TOPIC_OPENED = "topic_opened", _("发布议题")
    TOPIC_CLOSED = "topic_closed", _("结束议题")
    VOTE_CAST = "vote_cast", _("投票")
    VOTE_CHANGED = "vote_changed", _("修改投票")
    VOTE_CHANGE_REFUSED = "vote_change_refused", _("拒绝修改投票")
    TALLY_EXPORTED = "tally_exported", _("导出计票结果")
    # Points (points)
    POINTS_PRIORITY_CHECK = "points_priority_check", _("优先服务核验")
    POINTS_AWARD_APPROVED = "points_award_approved", _("批准积分奖励")
    POINTS_AWARD_REJECTED = "points_award_rejected", _("驳回积分奖励")
    POINTS_APPEAL_DECIDED = "points_appeal_decided", _("积分申诉处理")
    POINTS_ENTRY_REVERSED = "points_entry_reversed", _("积分冲正")
    POINTS_PICKUP = "points_pickup", _("兑换品领取")


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("法定节假日（休息）")
    WORKDAY = "workday", _("调休上班日")


class LimitUnit(models.TextChoices):
    """How a time limit is counted. Working time follows the working calendar; natural hours do not."""

    WORKING_HOURS = "working_hours", _("工作小时")
    WORKING_DAYS = "working_days", _("工作日")
    NATURAL_HOURS = "natural_hours", _("自然小时")
