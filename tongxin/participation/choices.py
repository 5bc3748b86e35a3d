"""The vocabulary of consultations and votes (码上协商 · 议题 · 投票)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TopicKind(models.TextChoices):
    LIVELIHOOD = "livelihood", _("民生事项")
    GOVERNANCE = "governance", _("治理事项")
    PROPERTY = "property", _("物业管理")


class Matter(models.TextChoices):
    """The nine matters of Civil Code Art. 278 (paragraph 1); items 6 to 8 are the major ones that need
    three-quarters of the participants (paragraph 2). Only property-management topics carry one."""

    RULES = "item1", _("（一）制定和修改业主大会议事规则")
    CONVENTION = "item2", _("（二）制定和修改管理规约")
    COMMITTEE = "item3", _("（三）选举业主委员会或者更换业主委员会成员")
    MANAGER = "item4", _("（四）选聘和解聘物业服务企业或者其他管理人")
    FUND_USE = "item5", _("（五）使用建筑物及其附属设施的维修资金")
    FUND_RAISE = "item6", _("（六）筹集建筑物及其附属设施的维修资金")
    REBUILD = "item7", _("（七）改建、重建建筑物及其附属设施")
    COMMON_USE = "item8", _("（八）改变共有部分的用途或者利用共有部分从事经营活动")
    OTHER = "item9", _("（九）有关共有和共同管理权利的其他重大事项")


MAJOR_MATTERS = frozenset({Matter.FUND_RAISE, Matter.REBUILD, Matter.COMMON_USE})


class ScopeKind(models.TextChoices):
    AREA = "area", _("区域（含下级）")
    GRID = "grid", _("网格")
    BUILDING = "building", _("楼栋")


class ChoiceMode(models.TextChoices):
    SINGLE = "single", _("单选")
    MULTIPLE = "multiple", _("多选")


class Eligibility(models.TextChoices):
    HOUSEHOLD = "household", _("每户一票")
    ADULT = "adult", _("每位已核验的成年居民一票")
    OWNER = "owner", _("业主按专有部分表决（民法典第二百七十八条）")


class Publication(models.TextChoices):
    ON_CLOSE = "on_close", _("结束后公布")
    LIVE = "live", _("实时公布")


class TopicStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("已发布")
    CLOSED = "closed", _("已结束")


Status = TopicStatus  # the short name the room uses; the schema and OpenAPI see TopicStatus


class Stance(models.TextChoices):
    """What an option of a property-management topic means for the Art. 278 count."""

    NONE = "", _("—")
    APPROVE = "approve", _("同意")
    REJECT = "reject", _("不同意")
    ABSTAIN = "abstain", _("弃权")


class Event(models.TextChoices):
    """Audit event types of this room (core's AuditEvent.event_type; append-only)."""

    TOPIC_CREATED = "topic_created", _("创建议题")
    TOPIC_UPDATED = "topic_updated", _("修改议题")
    TOPIC_OPENED = "topic_opened", _("发布议题")
    TOPIC_CLOSED = "topic_closed", _("结束议题")
    VOTE_CAST = "vote_cast", _("投票")
    VOTE_CHANGED = "vote_changed", _("修改投票")
    VOTE_CHANGE_REFUSED = "vote_change_refused", _("拒绝修改投票")
    TALLY_EXPORTED = "tally_exported", _("导出计票结果")
