"""Who may see and do what: an actor's scopes, read once per request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from .choices import Role
from .models import Department, RoleAssignment, User


@dataclass(frozen=True)
class ActorScope:
    """The role assignments of one user, resolved to area paths and department ids.

    ``area_roles`` maps a role to the materialised paths of the areas it covers; ``department_roles``
    maps a role to the department ids it covers. Admins (and superusers) see everything.
    """

    user_id: int | None
    is_admin: bool = False
    area_roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    department_roles: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def roles(self) -> frozenset[str]:
        roles = set(self.area_roles) | set(self.department_roles)
        if self.is_admin:
            roles.add(Role.ADMIN)
        return frozenset(roles)

    @property
    def all_area_paths(self) -> tuple[str, ...]:
        return tuple(sorted({p for paths in self.area_roles.values() for p in paths}))

    @property
    def all_department_ids(self) -> tuple[int, ...]:
        return tuple(sorted({d for ids in self.department_roles.values() for d in ids}))

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def area_role_covers(self, roles: frozenset[str] | set[str], area_path: str) -> str | None:
        """The first of ``roles`` whose area scope contains ``area_path``, else None."""
        for role in roles:
            for path in self.area_roles.get(role, ()):
                if area_path.startswith(path):
                    return role
        return None

    def department_role_covers(self, roles: frozenset[str] | set[str], department_id: int | None) -> str | None:
        if department_id is None:
            return None
        for role in roles:
            if department_id in self.department_roles.get(role, ()):
                return role
        return None

    def area_q(self, field_name: str = "area_path") -> Q | None:
        """A filter for rows whose ``field_name`` path lies inside any of the actor's area scopes."""
        paths = self.all_area_paths
        # A path inside another adds nothing: keep the outermost ones.
        outer = [p for p in paths if not any(p != o and p.startswith(o) for o in paths)]
        if not outer:
            return None
        q = Q()
        for path in outer:
            q |= Q(**{f"{field_name}__startswith": path})
        return q


def actor_scope(user: Any) -> ActorScope:
    """Resolve (and memoise on the user object for this request) the actor's scopes: one query."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ActorScope(user_id=None)
    cached = getattr(user, "_tongxin_scope", None)
    if cached is not None:
        return cached
    if user.pk is None:
        # A reader that is not a stored user (e.g. Open311's public reader) holds no assignments.
        return ActorScope(user_id=None, is_admin=bool(user.is_superuser))
    area_roles: dict[str, list[str]] = {}
    department_roles: dict[str, list[int]] = {}
    is_admin = bool(user.is_superuser)
    rows = RoleAssignment.objects.filter(user_id=user.pk).select_related("area").values_list(
        "role", "area__path", "department_id", "department__active"
    )
    for role, area_path, department_id, _active in rows:
        if role == Role.ADMIN:
            is_admin = True
        if department_id is not None:
            department_roles.setdefault(role, []).append(department_id)
        elif area_path:
            area_roles.setdefault(role, []).append(area_path)
    scope = ActorScope(
        user_id=user.pk,
        is_admin=is_admin,
        area_roles={k: tuple(v) for k, v in area_roles.items()},
        department_roles={k: tuple(v) for k, v in department_roles.items()},
    )
    actor_scope_memoise(user, scope)
    return scope


def actor_scope_memoise(user: Any, scope: ActorScope) -> None:
    """Remember ``scope`` on this user object, so actor_scope() answers it without a query. The
    attribute is not a model field: it lives only as long as the object (one request)."""
    user._tongxin_scope = scope


def department_list(*, active_only: bool = True) -> list[Department]:
    # The area's boundary (a GeoJSON polygon of up to megabytes) is never needed with a department list.
    qs = Department.objects.select_related("area").defer("area__boundary").order_by("code")
    if active_only:
        qs = qs.filter(active=True)
    return list(qs)


def department_users(department_id: int) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, role_assignments__department_id=department_id, role_assignments__role=Role.HANDLER
        ).distinct()
    )


def users_with_area_role(roles: set[str], area_path: str) -> list[User]:
    """Users holding one of ``roles`` with a scope that contains the area (for notifications)."""
    candidates = RoleAssignment.objects.filter(role__in=roles, area__isnull=False).select_related("area", "user")
    return list({ra.user for ra in candidates
                 if ra.area is not None and area_path.startswith(ra.area.path) and ra.user.is_active})


# --- notifications (the recipient's own; nobody reads another user's) -----------------------------

def notification_unread_count(*, user: Any) -> int:
    """Unread notifications of ``user``: one indexed count (recipient, read_at)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    from .models import Notification

    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def notification_list(*, user: Any, unread_only: bool = False, limit: int = 100) -> list[Any]:
    """The user's notifications, newest first."""
    from .models import Notification

    if user is None or not getattr(user, "is_authenticated", False):
        return []
    qs = Notification.objects.filter(recipient_id=user.pk)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return list(qs.order_by("-created_at", "-id")[:limit])
