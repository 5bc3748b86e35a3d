"""Rollups of the work orders for the city screen and the reports (一网统管).

Everything here is *derived*: it can be thrown away and rebuilt from the work orders at any time
(``tongxin dashboard_rebuild``), and the rebuild gives the same rows as the incremental fold
(``tongxin dashboard_rollup``, every minute). The definitions of every counter: docs/dashboard.md.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RollupCursor(models.Model):
    """The fold's bookmark (one row, ``name="rollup"``). Rules: ``last_event_id`` is the highest
    ``WorkOrderEvent`` id folded; ``clock`` the moment the time-dependent counters (overdue, lapsed
    sign-off) were evaluated at. Locked (``SELECT … FOR UPDATE``) by every fold and rebuild, so two
    workers never fold at once."""

    name = models.CharField(max_length=20, primary_key=True, default="rollup")
    last_event_id = models.BigIntegerField(default=0)
    clock = models.DateTimeField(null=True, blank=True)
    folded_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    rebuild_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("汇总游标")
        verbose_name_plural = _("汇总游标")

    def __str__(self) -> str:
        return f"{self.name}: {self.last_event_id}"


class AreaLink(models.Model):
    """Area → each of its ancestors (and itself), with the ancestor's depth (0 city … 4 grid): the
    closure of the area tree, so that one join rolls a leaf up to every level. Built from the areas'
    materialised paths."""

    area_id = models.IntegerField()
    ancestor_id = models.IntegerField()
    depth = models.PositiveSmallIntegerField()
    # 1 on the one link of each area to the ancestor its breakdowns are kept at: itself down to the town
    # level, else its town (see Rollup: channel/category/department rows stop at the town level).
    is_top = models.SmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area_id", "ancestor_id"], name="dash_arealink_unique")]

    def __str__(self) -> str:
        return f"{self.area_id} ⊂ {self.ancestor_id}"


class CategoryRoot(models.Model):
    """Category → its level-1 ancestor (itself for a level-1 category)."""

    category_id = models.IntegerField(primary_key=True)
    root_id = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.category_id} → {self.root_id}"


class OrderFact(models.Model):
    """What one counted order (not merged, withdrawn, invalid or transferred) contributed to the rollups
    at the last fold: its dimensions and its 0/1 counters. Rules: one row per counted order, replaced
    whenever the order has a new event or ``recheck_at`` (the next moment a time-dependent counter
    changes: its completion deadline) passes; removed when the order stops counting."""

    order_id = models.BigIntegerField(primary_key=True)
    day = models.DateField()  # local date of acceptance
    area_id = models.IntegerField()
    top_id = models.IntegerField()  # the area's town (or the area itself above the town level)
    category_id = models.IntegerField(default=0)  # level-1 category, 0: none
    channel = models.CharField(max_length=20)
    department_id = models.IntegerField(default=0)  # current lead department, 0: none
    accepted = models.SmallIntegerField(default=1)
    replied = models.SmallIntegerField(default=0)
    replied_timed = models.SmallIntegerField(default=0)
    replied_on_time = models.SmallIntegerField(default=0)
    called_back = models.SmallIntegerField(default=0)
    satisfied = models.SmallIntegerField(default=0)
    repeat = models.SmallIntegerField(default=0)
    open = models.SmallIntegerField(default=0)
    overdue = models.SmallIntegerField(default=0)
    recheck_at = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"order {self.order_id}"


class AssignmentFact(models.Model):
    """What one lead assignment of a counted order contributed: counted on the local day it was made,
    under its own department and the order's place, category and channel. ``recheck_at``: its sign-off
    deadline while unsigned and not returned (the moment it becomes a late sign-off)."""

    assignment_id = models.BigIntegerField(primary_key=True)
    order_id = models.BigIntegerField(db_index=True)
    day = models.DateField()
    area_id = models.IntegerField()
    top_id = models.IntegerField()
    category_id = models.IntegerField(default=0)
    channel = models.CharField(max_length=20)
    department_id = models.IntegerField()
    assignments = models.SmallIntegerField(default=1)
    returned = models.SmallIntegerField(default=0)
    sign_decided = models.SmallIntegerField(default=0)
    signed_on_time = models.SmallIntegerField(default=0)
    recheck_at = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"assignment {self.assignment_id}"


class Rollup(models.Model):
    """Sums of the facts per local day × area (every level: the order's area and each ancestor) ×
    dimension. ``dim`` is ``all`` (key "") at every level, and ``channel`` / ``category`` (level-1 id) /
    ``department`` (id; "0" none) at the city, district and town levels (grids and communities are read
    in total only). Order counters are counted on the day of acceptance, assignment counters on the day
    of the assignment. Rules: maintained by the fold and the rebuild only; no row is all zero."""

    day = models.DateField()
    area_id = models.IntegerField()
    dim = models.CharField(max_length=12)
    key = models.CharField(max_length=40, blank=True)
    accepted = models.IntegerField(default=0)
    replied = models.IntegerField(default=0)
    replied_timed = models.IntegerField(default=0)
    replied_on_time = models.IntegerField(default=0)
    called_back = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    repeat = models.IntegerField(default=0)
    open = models.IntegerField(default=0)
    overdue = models.IntegerField(default=0)
    assignments = models.IntegerField(default=0)
    returned = models.IntegerField(default=0)
    sign_decided = models.IntegerField(default=0)
    signed_on_time = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("运行汇总")
        verbose_name_plural = _("运行汇总")
        constraints = [models.UniqueConstraint(fields=["area_id", "dim", "day", "key"], name="dash_rollup_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.area_id} {self.dim}={self.key}"


ORDER_COUNTERS = ("accepted", "replied", "replied_timed", "replied_on_time", "called_back", "satisfied", "repeat",
                  "open", "overdue")
ASSIGNMENT_COUNTERS = ("assignments", "returned", "sign_decided", "signed_on_time")
COUNTERS = ORDER_COUNTERS + ASSIGNMENT_COUNTERS
