"""The vocabulary of dispute mediation (see shared/docs/glossary.md, "Disputes"). Values are stable API strings."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    """The level of the mediation network that holds a case. Depth: city 0 … community 3 (grids count as
    their community: a grid worker's report is received at community level)."""

    CITY = "city", _("市级")
    DISTRICT = "district", _("旗区级")
    TOWN = "town", _("苏木乡镇级")
    COMMUNITY = "community", _("嘎查村社区级")


LEVEL_DEPTH = {Level.CITY: 0, Level.DISTRICT: 1, Level.TOWN: 2, Level.COMMUNITY: 3}
DEPTH_LEVEL = {depth: level for level, depth in LEVEL_DEPTH.items()}


class OrgKind(models.TextChoices):
    COMMITTEE = "committee", _("人民调解委员会")
    GOVERNANCE_CENTRE = "governance_centre", _("综治中心")
    CITY_CENTRE = "city_centre", _("市矛盾纠纷调处化解中心")
    PROFESSIONAL = "professional", _("行业性专业性调解组织")


# Organisations that triage (分流分调): they may route a case to another unit at their level or below.
TRIAGE_KINDS = frozenset({OrgKind.GOVERNANCE_CENTRE, OrgKind.CITY_CENTRE})


class DisputeType(models.TextChoices):
    """What the dispute is about; also a mediator's or a professional organisation's speciality."""

    NEIGHBOURHOOD = "neighbourhood", _("邻里纠纷")
    MARRIAGE_FAMILY = "marriage_family", _("婚姻家庭")
    LAND_GRASSLAND = "land_grassland", _("土地草牧场")
    ENTERPRISE_COMMUNITY = "enterprise_community", _("地企矛盾")
    LABOUR = "labour", _("劳动争议")
    MEDICAL = "medical", _("医疗纠纷")
    TRAFFIC = "traffic", _("交通事故")
    PROPERTY = "property", _("物业纠纷")
    CONTRACT = "contract", _("合同债务")
    OTHER = "other", _("其他")


class Source(models.TextChoices):
    WALK_IN = "walk_in", _("群众来访")
    GRID = "grid", _("网格员上报")
    HOTLINE = "hotline", _("12345转办")
    PETITION = "petition", _("信访部门转来")
    COURT = "court", _("法院诉前委派")
    OTHER = "other", _("其他")


class Language(models.TextChoices):
    CHINESE = "zh", _("汉语")
    MONGOLIAN = "mn", _("蒙古语")


class MediatorGrade(models.TextChoices):
    CHIEF = "chief", _("首席调解员")
    SENIOR = "senior", _("资深调解员")
    REGULAR = "regular", _("调解员")


class PartyKind(models.TextChoices):
    PERSON = "person", _("自然人")
    ORGANISATION = "organisation", _("法人或组织")


class PartySide(models.TextChoices):
    APPLICANT = "applicant", _("申请方")
    RESPONDENT = "respondent", _("被申请方")
    OTHER = "other", _("第三人")


class CaseStatus(models.TextChoices):
    RECEIVED = "received", _("已受理")
    MEDIATING = "mediating", _("调解中")
    HANDOVER = "handover", _("移交待接收")
    JOINT = "joint", _("联合化解")
    AGREED = "agreed", _("已达成协议（回访中）")
    FAILED = "failed", _("调解未成（已引导）")
    CLOSED = "closed", _("已结案（稳定）")
    WITHDRAWN = "withdrawn", _("已撤回")


Status = CaseStatus  # the short name the room uses; the schema and OpenAPI see CaseStatus


TERMINAL_STATUSES = frozenset({Status.FAILED, Status.CLOSED, Status.WITHDRAWN})
# A case is concluded once mediation has an outcome; the targets count these (docs/mediation.md).
CONCLUDED_STATUSES = frozenset({Status.AGREED, Status.FAILED, Status.CLOSED})
SETTLED_STATUSES = frozenset({Status.AGREED, Status.CLOSED})


class CaseAction(models.TextChoices):
    RECEIVE = "receive", _("受理")
    MEDIATE = "mediate", _("即知即调")
    ROUTE = "route", _("分流移交")
    ESCALATE = "escalate", _("上报上一级")
    ACCEPT_HANDOVER = "accept_handover", _("接收移交")
    REJECT_HANDOVER = "reject_handover", _("退回移交")
    START_JOINT = "start_joint", _("联管联调（指定包案领导）")
    JOINT_MEETING = "joint_meeting", _("联席会议")
    JOINT_VISIT = "joint_visit", _("联合下访")
    SESSION = "session", _("调解")
    AGREE = "agree", _("达成调解协议")
    CONFIRM = "confirm", _("司法确认")
    FAIL = "fail", _("调解不成")
    FOLLOW_UP = "follow_up", _("回访")
    CLOSE = "close", _("结案（稳定）")
    REOPEN = "reopen", _("协议未履行，重新调解")
    WITHDRAW = "withdraw", _("撤回")
    RAISE_WORK_ORDER = "raise_work_order", _("转办工单")


Action = CaseAction  # the short name the room uses; the schema and OpenAPI see CaseAction


class HandoverKind(models.TextChoices):
    ROUTE = "route", _("分流")
    ESCALATE = "escalate", _("上报")


class HandoverStatus(models.TextChoices):
    PENDING = "pending", _("待接收")
    ACCEPTED = "accepted", _("已接收")
    REJECTED = "rejected", _("已退回")


class SessionKind(models.TextChoices):
    SESSION = "session", _("调解")
    JOINT_MEETING = "joint_meeting", _("联席会议")
    JOINT_VISIT = "joint_visit", _("联合下访")


class FailureGuidance(models.TextChoices):
    """Where a party is guided when mediation fails (依法引导)."""

    LITIGATION = "litigation", _("引导诉讼")
    ARBITRATION = "arbitration", _("引导仲裁")
    PETITION = "petition", _("引导信访")
    ADMINISTRATIVE = "administrative", _("引导行政处理")


class Target(models.TextChoices):
    """The four targets (95/95/95/100). Definitions: docs/mediation.md and selectors.targets."""

    WITHIN_COMMUNITY = "within_community", _("不出村（社区）")
    WITHIN_TOWN = "within_town", _("不出镇（街道）")
    BEFORE_LITIGATION = "before_litigation", _("诉访前化解")
    WITHIN_CITY = "within_city", _("市域内化解")


TARGET_GOALS = {Target.WITHIN_COMMUNITY: 0.95, Target.WITHIN_TOWN: 0.95, Target.BEFORE_LITIGATION: 0.95,
                Target.WITHIN_CITY: 1.0}
