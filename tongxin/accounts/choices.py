from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """What a person does. A role is always held within a scope: an area subtree or a department."""

    OPERATOR = "operator", _("话务员")
    DISPATCHER = "dispatcher", _("派单员")
    SUPERVISOR = "supervisor", _("督办员")
    HANDLER = "handler", _("承办人")
    GRID_WORKER = "grid_worker", _("网格员")
    LEADER = "leader", _("领导")
    MEDIATOR = "mediator", _("调解员")
    CLERK = "clerk", _("窗口工作人员")
    ADMIN = "admin", _("管理员")


# Roles of the 12345 centre: scoped to an area, they act on the orders of that area.
CENTRE_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR})
# Roles whose scope is a department rather than an area.
DEPARTMENT_ROLES = frozenset({Role.HANDLER})


class DepartmentKind(models.TextChoices):
    CENTRE = "centre", _("12345热线中心")
    DEPARTMENT = "department", _("职能部门")
    TOWN_GOVERNMENT = "town", _("苏木乡镇/街道")
    ENTERPRISE = "enterprise", _("公共服务企业")
