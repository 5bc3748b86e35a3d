"""Response shapes of /api/v1/me and /api/v1/departments."""

from __future__ import annotations

from ninja import Field, Schema

from .choices import DepartmentKind, Role


class ScopeArea(Schema):
    code: str
    name: str
    level: str


class ScopeDepartment(Schema):
    id: int
    code: str
    name: str


class RoleOut(Schema):
    role: Role
    role_label: str
    area: ScopeArea | None = Field(..., description="The area subtree the role covers (every role but handler).")
    department: ScopeDepartment | None = Field(..., description="The department a handler works for.")


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    is_admin: bool = Field(..., description="Sees every order (role admin or superuser).")
    roles: list[RoleOut]


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    kind: DepartmentKind
    kind_label: str
    area: ScopeArea = Field(..., description="The area the department serves.")
    phone: str = Field(..., description="The office's public number.")
    active: bool
