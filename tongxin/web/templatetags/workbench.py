"""The workbench's navigation entries and notification badge, computed from the signed-in user's roles
(one memoised scope query and one indexed count per page), so base.html needs no context processor."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope, notification_unread_count

register = template.Library()

CENTRE_ROLES = {Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR}


def workbench_entries(user: Any) -> list[dict[str, str]]:
    """The workbench pages this user may open, in the order of the loop."""
    if not getattr(user, "is_authenticated", False):
        return []
    scope = actor_scope(user)
    roles = set(scope.roles)
    admin = scope.is_admin
    entries = []
    if admin or roles & CENTRE_ROLES:
        entries.append({"key": "intake", "url": "/workbench/intake/", "label": _("受理台")})
    if Role.HANDLER in roles:
        entries.append({"key": "queue", "url": "/workbench/queue/", "label": _("承办台")})
    if admin or roles & {Role.DISPATCHER, Role.SUPERVISOR}:
        entries.append({"key": "dispatch", "url": "/workbench/dispatch/", "label": _("派单/督办")})
    if admin or roles & CENTRE_ROLES:
        entries.append({"key": "callback", "url": "/workbench/callback/", "label": _("回访")})
    if admin or roles & CENTRE_ROLES:
        entries.append({"key": "knowledge", "url": "/workbench/knowledge/", "label": _("知识库")})
    if admin or roles & {Role.HANDLER, Role.DISPATCHER, Role.SUPERVISOR, Role.LEADER}:
        entries.append({"key": "numbers", "url": "/workbench/numbers/", "label": _("我的数据")})
    if admin or roles & {Role.LEADER, Role.SUPERVISOR, Role.DISPATCHER}:
        entries.append({"key": "dashboard", "url": "/dashboard/", "label": _("城市运行")})
    if admin or roles & {Role.LEADER, Role.SUPERVISOR, Role.DISPATCHER}:
        entries.append({"key": "map", "url": "/dashboard/map/", "label": _("区域地图")})
    if admin or roles & {Role.MEDIATOR, Role.LEADER, Role.SUPERVISOR}:
        entries.append({"key": "mediation", "url": "/mediation/", "label": _("矛盾调解")})
    if admin or roles & {Role.GRID_WORKER, Role.LEADER}:
        entries.append({"key": "grid", "url": "/grid/", "label": _("网格")})
    if admin or Role.GRID_WORKER in roles or Role.LEADER in roles:
        entries.append({"key": "info", "url": "/grid/info/", "label": _("基础信息")})
        entries.append({"key": "participation", "url": "/participation/", "label": _("码上协商")})
    if admin or roles & {Role.GRID_WORKER, Role.SUPERVISOR, Role.LEADER}:
        entries.append({"key": "points", "url": "/points/", "label": _("积分")})
    if Role.CLERK in roles:
        entries.append({"key": "points_check", "url": "/points/check/", "label": _("优先服务核验")})
    return entries


@register.inclusion_tag("web/_workbench_nav.html", takes_context=True)
def workbench_nav(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"entries": workbench_entries(user), "nav": context.get("nav", "")}


@register.inclusion_tag("web/notifications/_badge.html", takes_context=True)
def notification_badge(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    return {"count": notification_unread_count(user=getattr(request, "user", None)), "poll": True}
