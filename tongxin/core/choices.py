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


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("法定节假日（休息）")
    WORKDAY = "workday", _("调休上班日")


class LimitUnit(models.TextChoices):
    """How a time limit is counted. Working time follows the working calendar; natural hours do not."""

    WORKING_HOURS = "working_hours", _("工作小时")
    WORKING_DAYS = "working_days", _("工作日")
    NATURAL_HOURS = "natural_hours", _("自然小时")
