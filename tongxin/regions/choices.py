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
