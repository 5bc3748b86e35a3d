"""The administrative tree: city → district → town → community → grid."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.masking import mask_phone

from .choices import LEVEL_ORDER, SINGLE_DUTIES, AreaLevel, GridDuty


class AreaQuerySet(models.QuerySet["Area"]):
    def subtree(self, area: Area) -> AreaQuerySet:
        """The area and everything below it: one indexed prefix match on the materialised path."""
        return self.filter(path__startswith=area.path)


class Area(models.Model):
    """One node of the administrative tree.

    Rules: ``code`` is the official code where one exists (GB/T 2260 for city and district, the
    9-digit 统计用区划代码 for towns, 12 digits for communities) and otherwise a generated one, unique
    either way; ``path`` is the materialised path of primary keys ("/1/7/42/"), so a subtree is one
    ``LIKE 'prefix%'`` query; the path is maintained by the regions services only, never edited.
    ``boundary`` is a GeoJSON geometry in WGS-84 (imports convert from their declared datum); the
    bounding box and a representative point are kept beside it for cheap filtering.
    """

    code = models.CharField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=12, choices=AreaLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(_("路径"), max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(_("深度"), default=0, editable=False)
    boundary = models.JSONField(_("边界 (GeoJSON, WGS-84)"), null=True, blank=True)
    min_lng = models.FloatField(null=True, blank=True, editable=False)
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lng = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)
    center_lng = models.FloatField(_("中心经度"), null=True, blank=True)
    center_lat = models.FloatField(_("中心纬度"), null=True, blank=True)
    generated = models.BooleanField(
        _("演示生成"), default=False, help_text=_("由演示数据生成，不是官方区划或边界")
    )
    # Read (with the row count) by the point lookup to know when another process changed the tree.
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        ordering = ["path"]
        indexes = [models.Index(fields=["level", "path"])]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def level_index(self) -> int:
        return LEVEL_ORDER.index(AreaLevel(self.level))

    def contains(self, other: Area) -> bool:
        return other.path.startswith(self.path)


def _today() -> datetime.date:
    return timezone.localdate()


class GridMember(models.Model):
    """One person on a grid's roster (一格一长一警一专多兼).

    Rules: ``grid`` is an area of level grid; at most one *active* leader, police officer and full-time
    worker per grid (a conditional unique constraint), any number of part-time members; the same phone
    holds one duty of a grid once while active; a person may serve several grids (one row each).
    ``user`` links the member to a staff account when they have one. Nobody is deleted: removal sets
    ``active`` false and ``until``, so the history of who served stays. The phone is personal data:
    shown masked, revealed only through an audited service. Written by the regions services only.
    """

    grid = models.ForeignKey(Area, verbose_name=_("网格"), on_delete=models.PROTECT, related_name="members",
                             limit_choices_to={"level": AreaLevel.GRID})
    name = models.CharField(_("姓名"), max_length=60)
    phone = models.CharField(_("手机号"), max_length=20)
    duty = models.CharField(_("职责"), max_length=12, choices=GridDuty.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("账号"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="grid_memberships")
    active = models.BooleanField(_("在岗"), default=True)
    since = models.DateField(_("起始日期"), default=_today)
    until = models.DateField(_("结束日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("网格成员")
        verbose_name_plural = _("网格成员")
        ordering = ["grid_id", "duty", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "duty"], condition=Q(active=True, duty__in=list(SINGLE_DUTIES)),
                name="grid_member_one_active_per_duty",
            ),
            models.UniqueConstraint(
                fields=["grid", "phone", "duty"], condition=Q(active=True), name="grid_member_unique_active_phone",
            ),
        ]
        indexes = [models.Index(fields=["user", "active"], name="grid_member_user_active")]

    def __str__(self) -> str:
        # Shown on the grid page: the phone masked, as everywhere by default.
        return f"{self.get_duty_display()} · {self.name} · {mask_phone(self.phone)}"
