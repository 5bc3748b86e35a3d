"""The vocabulary of work orders (see shared/docs/glossary.md). Values are stable API strings."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("12345热线")
    APP = "app", _("移动端")
    QR = "qr", _("一户一码")
    GRID = "grid", _("网格员上报")
    WEB = "web", _("网站")
    WALK_IN = "walk_in", _("来访")
    OPEN311 = "open311", _("Open311接口")
    POLICE_TRANSFER = "police_transfer", _("110转办")


class Kind(models.TextChoices):
    INQUIRY = "inquiry", _("咨询")
    HELP = "help", _("求助")
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")
    SUGGESTION = "suggestion", _("建议")
    PRAISE = "praise", _("表扬")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    CRITICAL = "critical", _("特急")


class Status(models.TextChoices):
    ACCEPTED = "accepted", _("已受理待派单")
    DISPATCHED = "dispatched", _("已派单待签收")
    IN_PROGRESS = "in_progress", _("办理中")
    RETURNED = "returned", _("已退单待审核")
    REPLIED = "replied", _("已答复待回访")
    CLOSED = "closed", _("已办结")
    MERGED = "merged", _("已并单")
    WITHDRAWN = "withdrawn", _("已撤单")
    INVALID = "invalid", _("无效工单")
    TRANSFERRED = "transferred", _("已转110")


# Orders that are no longer in anyone's hands.
TERMINAL_STATUSES = frozenset({Status.CLOSED, Status.MERGED, Status.WITHDRAWN, Status.INVALID, Status.TRANSFERRED})
# Orders a department is holding: the completion clock runs.
WITH_DEPARTMENT = frozenset({Status.DISPATCHED, Status.IN_PROGRESS})
# Orders that never became a real request: excluded from every KPI denominator.
NOT_COUNTED = frozenset({Status.MERGED, Status.WITHDRAWN, Status.INVALID, Status.TRANSFERRED})


class Action(models.TextChoices):
    ACCEPT = "accept", _("受理")
    RESOLVE_ON_CALL = "resolve_on_call", _("直接办结")
    DISPATCH = "dispatch", _("派单")
    SIGN = "sign", _("签收")
    RETURN = "return", _("退单")
    REASSIGN = "reassign", _("改派")
    FORCE_DISPATCH = "force_dispatch", _("强制派单")
    REQUEST_EXTENSION = "request_extension", _("申请延期")
    APPROVE_EXTENSION = "approve_extension", _("批准延期")
    DENY_EXTENSION = "deny_extension", _("驳回延期")
    REMIND = "remind", _("催办")
    SUPERVISE = "supervise", _("督办")
    CO_REPLY = "co_reply", _("协办答复")
    REPLY = "reply", _("办结答复")
    CALLBACK = "callback", _("回访")
    REDO = "redo", _("重办")
    MERGE = "merge", _("并单")
    WITHDRAW = "withdraw", _("撤单")
    MARK_INVALID = "mark_invalid", _("标记无效")
    TRANSFER_POLICE = "transfer_police", _("转110")
    COMMENT = "comment", _("补充说明")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY_SATISFIED = "basically_satisfied", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class UnsatisfiedCause(models.TextChoices):
    """Why a caller is unsatisfied. Causes the department controls allow a redo (重办)."""

    NOT_SOLVED = "not_solved", _("问题未解决")
    NO_CONTACT = "no_contact", _("承办单位未联系")
    POOR_ATTITUDE = "poor_attitude", _("工作态度差")
    DELAYED = "delayed", _("办理拖延")
    POLICY_LIMIT = "policy_limit", _("受政策限制无法解决")
    UNREASONABLE = "unreasonable", _("诉求不合理")
    OTHER = "other", _("其他")


DEPARTMENT_CONTROLLABLE_CAUSES = frozenset(
    {UnsatisfiedCause.NOT_SOLVED, UnsatisfiedCause.NO_CONTACT, UnsatisfiedCause.POOR_ATTITUDE, UnsatisfiedCause.DELAYED}
)


class ReturnReason(models.TextChoices):
    NOT_OUR_DUTY = "not_our_duty", _("不属于本单位职责")
    NOT_OUR_AREA = "not_our_area", _("不属于本单位辖区")
    INSUFFICIENT_INFO = "insufficient_info", _("诉求信息不全")
    DUPLICATE = "duplicate", _("重复工单")
    OTHER = "other", _("其他")


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("主办")
    CO = "co", _("协办")


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    DENIED = "denied", _("已驳回")


class SlaState(models.TextChoices):
    """Traffic light of a clock: green until the warning threshold, yellow until the deadline, red after."""

    NORMAL = "normal", _("正常")
    WARNING = "warning", _("临期")
    OVERDUE = "overdue", _("超期")
    NONE = "none", _("无")
