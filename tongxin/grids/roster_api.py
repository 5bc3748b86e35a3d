"""The grid roster (一格一长一警一专多兼): /api/v1/regions/grids/{code}/roster and /api/v1/regions/roster/{id}.

Who: any staff member whose area role (any role but the department-scoped handler) covers the grid may
read its roster, and so may the grid's own members; leaders and admins covering the grid may change it.
Anyone else gets 404, exactly as for a grid that does not exist. Phones are masked; the full number is
one audited call away (``POST …/reveal-phone``).

The scoping reads the actor's role assignments through ``tongxin.accounts.selectors``: the roster lives in
regions (below accounts in the house plan), so this API layer sits in grids (ADR 0009); the regions models,
services and selectors never look upward.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router
from ninja.responses import Status

from tongxin.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongxin.core.masking import mask_phone
from tongxin.regions import selectors, services
from tongxin.regions.choices import AreaLevel, GridDuty
from tongxin.regions.models import Area, GridMember
from tongxin.regions.schemas import (
    GridMemberIn,
    GridMemberOut,
    GridMemberPatch,
    GridMemberRemoveIn,
    GridServedOut,
    PhoneOut,
)

router = Router(tags=["regions"])


def _scope(actor: Any) -> Any:
    from tongxin.accounts.selectors import actor_scope

    return actor_scope(actor)


def _writer_roles() -> frozenset[str]:
    from tongxin.accounts.choices import Role

    return frozenset({Role.LEADER, Role.ADMIN})


def can_read_roster(actor: Any, grid: Area) -> bool:
    scope = _scope(actor)
    if scope.is_admin or scope.area_role_covers(frozenset(scope.area_roles), grid.path):
        return True
    return any(g.pk == grid.pk for g in selectors.grids_served_by(actor))


def can_edit_roster(actor: Any, grid: Area) -> bool:
    scope = _scope(actor)
    return scope.is_admin or scope.area_role_covers(_writer_roles(), grid.path) is not None


def _grid(request: HttpRequest, code: str) -> Area:
    grid = Area.objects.filter(code=code[:32], level=AreaLevel.GRID).defer("boundary").first()
    if grid is None or not can_read_roster(request.user, grid):
        raise NotFound(_("未找到该网格"))
    return grid


def _member(request: HttpRequest, member_id: int, *, edit: bool) -> GridMember:
    member = selectors.grid_member_get(member_id)
    if member is None or not can_read_roster(request.user, member.grid):
        raise NotFound(_("未找到该网格成员"))
    if edit and not can_edit_roster(request.user, member.grid):
        raise PermissionDenied(_("只有网格所在区域的领导或管理员可以调整网格名册"))
    return member


def _user(username: str | None) -> Any:
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationFailed(fields={"username": _("账号 %(username)s 不存在或已停用") % {"username": username}})
    return user


def _out(member: GridMember) -> dict[str, Any]:
    return {
        "id": member.pk, "grid_code": member.grid.code, "grid_name": member.grid.name, "name": member.name,
        "phone": mask_phone(member.phone), "duty": member.duty, "duty_label": str(GridDuty(member.duty).label),
        "username": member.user.get_username() if member.user else None, "active": member.active,
        "since": member.since, "until": member.until,
    }


@router.get("/regions/grids/{code}/roster", response=list[GridMemberOut], summary="A grid's roster")
def roster_list(request: HttpRequest, code: str, include_inactive: bool = False) -> list[dict[str, Any]]:
    """Leader, officer, full-time worker, then part-time members; ``include_inactive`` adds past members."""
    grid = _grid(request, code)
    members = selectors.grid_roster(grid, include_inactive=include_inactive)
    for member in members:
        member.grid = grid  # already loaded: no query per row
    return [_out(m) for m in members]


@router.post("/regions/grids/{code}/roster", response={201: GridMemberOut}, summary="Assign to a grid")
def roster_assign(request: HttpRequest, code: str, payload: GridMemberIn) -> Status:
    grid = _grid(request, code)
    if not can_edit_roster(request.user, grid):
        raise PermissionDenied(_("只有网格所在区域的领导或管理员可以调整网格名册"))
    member = services.grid_member_assign(grid=grid, name=payload.name, phone=payload.phone, duty=payload.duty,
                                         user=_user(payload.username), since=payload.since, actor=request.user)
    return Status(201, _out(member))


@router.patch("/regions/roster/{member_id}", response=GridMemberOut, summary="Change a member")
def roster_update(request: HttpRequest, member_id: int, payload: GridMemberPatch) -> dict[str, Any]:
    member = _member(request, member_id, edit=True)
    given = payload.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {k: v for k, v in given.items() if k != "username"}
    if "username" in given:
        changes["user"] = _user(given["username"])
    return _out(services.grid_member_update(member=member, actor=request.user, **changes))


@router.post("/regions/roster/{member_id}/remove", response=GridMemberOut, summary="Take off the roster")
def roster_remove(request: HttpRequest, member_id: int, payload: GridMemberRemoveIn) -> dict[str, Any]:
    member = _member(request, member_id, edit=True)
    return _out(services.grid_member_remove(member=member, actor=request.user, until=payload.until,
                                            reason=payload.reason))


@router.post("/regions/roster/{member_id}/reveal-phone", response=PhoneOut, summary="The full phone (audited)")
def roster_reveal_phone(request: HttpRequest, member_id: int) -> dict[str, str]:
    member = _member(request, member_id, edit=False)
    return {"phone": services.grid_member_phone_reveal(member=member, actor=request.user)}


@router.get("/regions/my-grids", response=list[GridServedOut], summary="Grids I serve")
def my_grids(request: HttpRequest) -> list[dict[str, Any]]:
    """The grids the signed-in user serves on the roster, with their duties there."""
    user: Any = request.user
    duties: dict[int, list[str]] = {}
    for grid_id, duty in GridMember.objects.filter(user_id=user.pk, active=True).values_list("grid_id", "duty"):
        duties.setdefault(grid_id, []).append(duty)
    return [{"code": g.code, "name": g.name, "duties": sorted(duties.get(g.pk, []))}
            for g in selectors.grids_served_by(user)]
