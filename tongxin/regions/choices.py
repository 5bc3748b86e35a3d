from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaLevel(models.TextChoices):
    """The administrative tree, top to bottom. Depth is the index in LEVEL_ORDER."""

    CITY = "city", _("市")
    DISTRICT = "district", _("旗/区/县")
    TOWN = "town", _("苏木/乡/镇/街道")
    COMMUNITY = "community", _("嘎查/村/社区")
    GRID = "grid", _("网格")


LEVEL_ORDER = [AreaLevel.CITY, AreaLevel.DISTRICT, AreaLevel.TOWN, AreaLevel.COMMUNITY, AreaLevel.GRID]


class GridDuty(models.TextChoices):
    """The grid roster, 一格一长一警一专多兼: one leader, one police officer, one full-time worker, any number
    of part-time members per grid."""

    LEADER = "leader", _("网格长")
    OFFICER = "officer", _("网格警")
    FULL_TIME = "full_time", _("专职网格员")
    PART_TIME = "part_time", _("兼职网格员")


# The duties a grid has at most one active holder of (a database constraint enforces it).
SINGLE_DUTIES = (GridDuty.LEADER, GridDuty.OFFICER, GridDuty.FULL_TIME)

# Audit event of a roster change. core.choices.AuditEventType owns the list of event types; until it
# names this one, the value is written as a plain string (the column is a CharField).
GRID_ROSTER_CHANGED = "grid_roster_changed"
