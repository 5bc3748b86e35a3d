"""The administrative tree: city → district → town → community → grid."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import LEVEL_ORDER, AreaLevel


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
