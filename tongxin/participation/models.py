"""Topics (议题), their options, the electorate frozen when a topic opens, and the two records of a vote.

The one-vote guarantee and the secrecy of a secret ballot come from how a vote is stored:

- ``Participation`` says *who* voted (for the one-vote rule, turnout and the Art. 278 headcount). Its
  ``elector`` is unique: the database refuses a second participation of the same voter, whatever the
  application does.
- The *choice* is only a counter on each ``Option`` (``ballots`` and ``area``), incremented in the same
  transaction. A secret ballot keeps nothing else: no row per choice, no link, no time — there is nothing
  that ties a choice to a voter. A public ballot also keeps ``ParticipationChoice`` rows (who chose what),
  which is what makes a receipt and a change of a public vote possible.

See docs/participation.md for the threat model and its limits.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ChoiceMode, Eligibility, Matter, Publication, ScopeKind, Stance, Status, TopicKind


class Topic(models.Model):
    """One consultation. Rules: edited only as a draft; opening freezes the electorate (``Elector`` rows,
    ``electors_count``, ``electors_area``); votes are accepted while open and ``opens_at <= now <
    closes_at``; a secret ballot allows no change and no live results; a property-management topic is a
    single-choice 同意/不同意/弃权 vote of owners by household with its Art. 278 ``matter``. ``area_path`` is
    the scope's area path (copied for jurisdiction filters)."""

    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("内容"), max_length=5000)
    kind = models.CharField(_("类型"), max_length=12, choices=TopicKind.choices)
    matter = models.CharField(_("表决事项（民法典第二百七十八条）"), max_length=8, choices=Matter.choices, blank=True)
    scope_kind = models.CharField(_("范围类型"), max_length=10, choices=ScopeKind.choices)
    area = models.ForeignKey("regions.Area", verbose_name=_("范围"), on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey("residents.Building", verbose_name=_("楼栋"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(max_length=255, db_index=True, editable=False)
    choice_mode = models.CharField(_("选择方式"), max_length=10, choices=ChoiceMode.choices, default=ChoiceMode.SINGLE)
    max_choices = models.PositiveSmallIntegerField(_("最多可选"), default=1)
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(_("截止时间"))
    eligibility = models.CharField(_("投票资格"), max_length=10, choices=Eligibility.choices)
    secret = models.BooleanField(_("无记名投票"), default=False)
    publication = models.CharField(_("结果公布"), max_length=10, choices=Publication.choices,
                                   default=Publication.ON_CLOSE)
    allow_change = models.BooleanField(_("截止前允许改票"), default=False)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.DRAFT)
    electors_count = models.PositiveIntegerField(_("有投票资格的人数/户数"), default=0)
    electors_area = models.DecimalField(_("有投票资格的专有部分面积"), max_digits=14, decimal_places=2, default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("议题")
        verbose_name_plural = _("议题")
        indexes = [models.Index(fields=["status", "area_path"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(closes_at__gt=models.F("opens_at")), name="topic_window"),
            models.CheckConstraint(condition=models.Q(max_choices__gte=1), name="topic_max_choices"),
            # A secret ballot can be neither changed nor watched live (see docs/participation.md).
            models.CheckConstraint(condition=~models.Q(secret=True, allow_change=True), name="topic_secret_no_change"),
            models.CheckConstraint(condition=~models.Q(secret=True, publication="live"), name="topic_secret_not_live"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_property(self) -> bool:
        return self.kind == TopicKind.PROPERTY

    def accepting(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == Status.OPEN and self.opens_at <= now < self.closes_at

    def ended(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == Status.CLOSED or (self.status == Status.OPEN and now >= self.closes_at)

    def results_public(self, now=None) -> bool:
        """Residents see results: live ones while open, every one once ended."""
        if self.status == Status.DRAFT:
            return False
        return self.ended(now) or self.publication == Publication.LIVE


class Option(models.Model):
    """One answer of a topic, with its running counters (the only record of a secret choice). Rules:
    ``ballots`` and ``area`` change only by F() increments in the ballot's transaction; ``stance`` says
    what the option means in an Art. 278 count (property topics only). No timestamp, on purpose."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(_("选项"), max_length=120)
    stance = models.CharField(max_length=8, choices=Stance.choices, blank=True, default=Stance.NONE)
    ballots = models.PositiveIntegerField(default=0)
    area = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("选项")
        verbose_name_plural = _("选项")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["topic", "label"], name="option_topic_label")]

    def __str__(self) -> str:
        return self.label


class Elector(models.Model):
    """One voter of a topic, frozen when it opens. ``voter_key`` is ``h<household id>`` (one vote per
    household, and owners by 专有部分) or ``r<resident id>`` (one per verified adult); ``floor_area`` is
    the household's registered area at opening (Art. 278 weight)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="electors")
    voter_key = models.CharField(max_length=24)
    household_id = models.PositiveBigIntegerField()
    resident_id = models.PositiveBigIntegerField(null=True, blank=True)
    floor_area = models.DecimalField(max_digits=9, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("投票人")
        verbose_name_plural = _("投票人")
        constraints = [models.UniqueConstraint(fields=["topic", "voter_key"], name="elector_topic_voter")]
        indexes = [models.Index(fields=["household_id"])]

    def __str__(self) -> str:
        return f"{self.topic_id}:{self.voter_key}"


class Participation(models.Model):
    """Who voted: exactly one per elector (the unique ``elector`` is the database's guarantee). For a
    secret ballot it holds nothing about the choice."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="participations")
    elector = models.OneToOneField(Elector, on_delete=models.CASCADE, related_name="participation")
    resident_id = models.PositiveBigIntegerField()  # who cast it (any member for a household vote)
    cast_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(null=True, blank=True)
    changes = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("参与记录")
        verbose_name_plural = _("参与记录")
        indexes = [models.Index(fields=["topic", "cast_at"])]

    def __str__(self) -> str:
        return f"{self.topic_id}:{self.elector_id}"


class ParticipationChoice(models.Model):
    """A public ballot's choice (who chose what). Never written for a secret ballot."""

    participation = models.ForeignKey(Participation, on_delete=models.CASCADE, related_name="choices")
    option = models.ForeignKey(Option, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("实名选择")
        verbose_name_plural = _("实名选择")
        constraints = [models.UniqueConstraint(fields=["participation", "option"], name="choice_once")]

    def __str__(self) -> str:
        return f"{self.participation_id}:{self.option_id}"
