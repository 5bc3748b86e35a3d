"""Who am I, and the departments: /api/v1/me and /api/v1/departments."""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from tongxin.core.errors import ValidationFailed
from tongxin.regions.selectors import area_ancestor_ids, area_get_by_code

from .choices import DepartmentKind, Role
from .models import Department, RoleAssignment
from .schemas import DepartmentOut, MeOut
from .selectors import actor_scope

router = Router()


def actor(request: HttpRequest) -> Any:
    """The user Ninja's authentication resolved for this request (session or token)."""
    return request.auth  # type: ignore[attr-defined]


def _area(area: Any) -> dict[str, Any] | None:
    return None if area is None else {"code": area.code, "name": area.name, "level": area.level}


@router.get("/me", response=MeOut, summary="The signed-in user and their roles", tags=["accounts"])
def me(request: HttpRequest) -> dict[str, Any]:
    """The user behind the session or token, with every role and the scope it holds in."""
    user = actor(request)
    assignments = (
        RoleAssignment.objects.filter(user_id=user.pk)
        .select_related("area", "department")
        .defer("area__boundary")
        .order_by("role", "id")
    )
    return {
        "id": user.pk, "username": user.get_username(), "display_name": user.display_name,
        "is_admin": actor_scope(user).is_admin,
        "roles": [
            {
                "role": ra.role, "role_label": str(Role(ra.role).label), "area": _area(ra.area),
                "department": None if ra.department is None else {
                    "id": ra.department.pk, "code": ra.department.code, "name": ra.department.name,
                },
            }
            for ra in assignments
        ],
    }


@router.get("/departments", response=list[DepartmentOut], summary="Departments", tags=["reference"])
def departments(
    request: HttpRequest,
    kind: DepartmentKind | None = None,
    area_code: Annotated[str | None, Query(
        max_length=32, description="Departments that serve this area: those of the area itself, of its ancestors (a city-wide company) and of the areas inside it.",
    )] = None,
    q: Annotated[str | None, Query(max_length=50, description="Part of the name or code.")] = None,
    include_inactive: bool = False,
) -> list[dict[str, Any]]:
    """The units that handle work orders (承办单位) and the 12345 centre, ordered by code."""
    qs = Department.objects.select_related("area").defer("area__boundary").order_by("code")
    if not include_inactive:
        qs = qs.filter(active=True)
    if kind:
        qs = qs.filter(kind=kind)
    if area_code:
        area = area_get_by_code(area_code)
        if area is None:
            raise ValidationFailed(fields={"area_code": _("区域代码 %(area_code)s 不存在") % {"area_code": area_code}})
        qs = qs.filter(Q(area_id__in=area_ancestor_ids(area)) | Q(area__path__startswith=area.path))
    if q and q.strip():
        qs = qs.filter(Q(name__contains=q.strip()) | Q(code__icontains=q.strip()))
    return [
        {"id": d.pk, "code": d.code, "name": d.name, "kind": d.kind, "kind_label": str(DepartmentKind(d.kind).label),
         "area": _area(d.area), "phone": d.phone, "active": d.active}
        for d in qs
    ]
