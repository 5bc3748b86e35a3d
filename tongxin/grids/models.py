"""Grid workers in the field: patrols and their check-ins, field reports, residents' opinions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ReportStatus


class Patrol(models.Model):
    """One patrol (巡查) of one grid worker in one grid.

    Rules: a worker has at most one open patrol (``ended_at`` empty) at a time, enforced by a partial
    unique constraint; ``grid_path`` copies the grid's materialised path so that roll-ups need no join;
    ``distance_m`` is the length of the route through the check-ins, stored when the patrol ends.
    Written only by ``grids.services``.
    """

    worker = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("网格员"), on_delete=models.PROTECT,
                               related_name="patrols")
    grid = models.ForeignKey("regions.Area", verbose_name=_("网格"), on_delete=models.PROTECT, related_name="+")
    grid_path = models.CharField(max_length=255, db_index=True, editable=False)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True, db_index=True)
    distance_m = models.FloatField(_("巡查里程（米）"), default=0)
    note = models.CharField(_("巡查记录"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("巡查")
        verbose_name_plural = _("巡查")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["worker"], condition=Q(ended_at__isnull=True), name="grids_one_open_patrol"),
        ]
        indexes = [models.Index(fields=["grid_path", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.grid_id} {self.started_at:%Y-%m-%d %H:%M}"


class PatrolCheckin(models.Model):
    """One check-in (打卡) on a patrol: a point in WGS-84 (converted from the datum the page sent, which
    is kept in ``datum``) with the accuracy the browser reported. Append-only."""

    patrol = models.ForeignKey(Patrol, verbose_name=_("巡查"), on_delete=models.CASCADE, related_name="checkins")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    lat = models.FloatField(_("纬度"))
    lng = models.FloatField(_("经度"))
    accuracy_m = models.FloatField(_("精度（米）"), null=True, blank=True)
    datum = models.CharField(_("原始坐标系"), max_length=8, default="wgs84")
    inside_grid = models.BooleanField(_("在网格内"), default=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("巡查打卡")
        verbose_name_plural = _("巡查打卡")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.patrol_id} {self.at:%H:%M}"


class FieldReport(models.Model):
    """What a grid worker finds (网格事件): photo, text, location; then either settled on the spot
    (自办结: result text and photo, no work order, counted as settled inside the grid) or raised as a
    work order of channel ``grid`` through the work-order engine (``work_order_id`` and its number).

    Rules: the status moves only open → settled or open → raised, by the grids services; photos are
    stored re-encoded without metadata; the location is WGS-84.
    """

    worker = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("网格员"), on_delete=models.PROTECT,
                               related_name="field_reports")
    grid = models.ForeignKey("regions.Area", verbose_name=_("网格"), on_delete=models.PROTECT, related_name="+")
    grid_path = models.CharField(max_length=255, db_index=True, editable=False)
    patrol = models.ForeignKey(Patrol, verbose_name=_("巡查"), null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="reports")
    status = models.CharField(_("状态"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    text = models.TextField(_("事件描述"))
    photo = models.FileField(_("现场照片"), upload_to="grids/reports/%Y/%m/", blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    category_code = models.CharField(_("分类"), max_length=40, blank=True)
    category_suggested = models.CharField(_("推荐分类"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("上报时间"), default=timezone.now, db_index=True)
    # Settled on the spot.
    result_text = models.TextField(_("处置结果"), blank=True)
    result_photo = models.FileField(_("处置后照片"), upload_to="grids/results/%Y/%m/", blank=True)
    settled_at = models.DateTimeField(_("办结时间"), null=True, blank=True, db_index=True)
    # Raised as a work order.
    work_order_id = models.IntegerField(_("工单"), null=True, blank=True)
    work_order_number = models.CharField(_("工单编号"), max_length=20, blank=True)
    raised_at = models.DateTimeField(_("上报工单时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("网格事件")
        verbose_name_plural = _("网格事件")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["grid_path", "settled_at"])]

    def __str__(self) -> str:
        return self.text[:30]


class OpinionTopic(models.Model):
    """A topic of residents' opinions (民生, 治安, 环境 …): configurable in the admin; an inactive topic
    is kept for old notes but offered no more."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=40)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("社情民意主题")
        verbose_name_plural = _("社情民意主题")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class Opinion(models.Model):
    """A resident's opinion (社情民意) noted by a grid worker: a short text tagged by topic, in a grid,
    with an optional household address. Read by leaders in their subtree."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT,
                               related_name="+")
    grid = models.ForeignKey("regions.Area", verbose_name=_("网格"), on_delete=models.PROTECT, related_name="+")
    grid_path = models.CharField(max_length=255, db_index=True, editable=False)
    topic = models.ForeignKey(OpinionTopic, verbose_name=_("主题"), on_delete=models.PROTECT, related_name="opinions")
    text = models.TextField(_("内容"))
    address = models.CharField(_("住户地址"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("记录时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("社情民意")
        verbose_name_plural = _("社情民意")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text[:30]
