from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportStatus(models.TextChoices):
    """A field report is open until the grid worker settles it on the spot or raises a work order."""

    OPEN = "open", _("待处置")
    SETTLED = "settled", _("已自办结")
    RAISED = "raised", _("已上报工单")


# The topics seeded by the first migration (社情民意); more are added in the admin.
DEFAULT_OPINION_TOPICS = [
    ("livelihood", "民生"),
    ("security", "治安"),
    ("environment", "环境"),
    ("property", "物业"),
    ("neighbourhood", "邻里"),
    ("other", "其他"),
]
