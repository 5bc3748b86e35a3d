"""Stable strings of the residents domain, with their Chinese labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CodeKind(models.TextChoices):
    """What a code opens. The one-letter value is part of the signed token: never change it."""

    HOUSEHOLD = "h", _("住户")
    MERCHANT = "m", _("商户")


class CodeState(models.TextChoices):
    """What a scanned code turned out to be (the landing page tells the resident which)."""

    VALID = "valid", _("有效")
    FORGED = "forged", _("无效二维码")
    REPLACED = "replaced", _("二维码已更换")
    REVOKED = "revoked", _("二维码已停用")


class PointSource(models.TextChoices):
    """Where a report's point came from, most trusted first."""

    DEVICE = "device", _("手机定位")
    MAP = "map", _("地图选点")
    EXIF = "exif", _("照片位置")
    NONE = "none", _("未定位")


class ReportState(models.TextChoices):
    """Where a resident's report (the receipt) stands before and after its work order is made."""

    RECEIVED = "received", _("已收到")
    REGISTERED = "registered", _("已登记")
    FAILED = "failed", _("登记失败")


# The resident's words for where an order stands (the staff labels are the engine's own).
RESIDENT_STATUS_LABELS = {
    "received": _("已收到"),  # a receipt whose order the worker has not made yet (ReportState.RECEIVED)
    "accepted": _("已收到，等待分派"),
    "dispatched": _("已转交承办单位"),
    "in_progress": _("正在办理"),
    "returned": _("正在重新分派"),
    "replied": _("已答复，请您评价"),
    "closed": _("已办结"),
    "merged": _("已与相同诉求合并办理"),
    "withdrawn": _("已撤回"),
    "invalid": _("未予受理"),
    "transferred": _("已转公安110处理"),
}


class ChangeAction(models.TextChoices):
    """What a basic-information change record says happened."""

    CREATED = "created", _("新增")
    UPDATED = "updated", _("修改")
    IMPORTED = "imported", _("导入")
    VERIFIED = "verified", _("实名核验")


class RecordType(models.TextChoices):
    """The records of basic information (the ``object_type`` of a change record)."""

    BUILDING = "building", _("楼栋")
    HOUSEHOLD = "household", _("住户")
    RESIDENT = "resident", _("居民")
    MERCHANT = "merchant", _("商户")
