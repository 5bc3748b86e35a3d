"""Domain errors: one stable machine code, one Chinese message for people, and the fields at fault.

Services raise these; the API layer turns every one of them into the single error shape
``{"code": ..., "message": ..., "fields": {...}}`` with the class's HTTP status.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """Base class of every error a user can cause. ``code`` is stable: programs branch on it."""

    status = 400
    code = "invalid"
    default_message = "请求无效"

    def __init__(self, message: str | None = None, *, code: str | None = None, fields: dict[str, Any] | None = None):
        self.message = message or self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class ValidationFailed(ApplicationError):
    """Input that fails validation; ``fields`` maps each field to its reason (Chinese)."""

    status = 422
    code = "validation_error"
    default_message = "提交的内容有误，请检查标出的字段"


class NotFound(ApplicationError):
    """Missing, or outside the actor's jurisdiction: both look the same to the caller."""

    status = 404
    code = "not_found"
    default_message = "未找到该记录"


class PermissionDenied(ApplicationError):
    """The actor can see the object but may not take this action on it."""

    status = 403
    code = "forbidden"
    default_message = "您无权执行此操作"


class Conflict(ApplicationError):
    """The object changed under the caller (another user acted first) or the action is illegal now."""

    status = 409
    code = "conflict"
    default_message = "该记录的状态已变化，请刷新后重试"


class IllegalTransition(Conflict):
    code = "illegal_transition"
    default_message = "当前状态下不能执行此操作"


class Unauthenticated(ApplicationError):
    status = 401
    code = "unauthenticated"
    default_message = "请先登录"


def require_text(value: Any, field: str, *, label: str, max_chars: int, required: bool = True) -> str:
    """The services' check of one text field: stripped; no NUL; present when ``required``; at most
    ``max_chars`` characters. Every error names the field and says why in Chinese."""
    text = str(value or "").strip()
    if "\x00" in text:
        raise ValidationFailed(fields={field: f"{label}包含无效的空字符"})
    if required and not text:
        raise ValidationFailed(fields={field: f"{label}不能为空"})
    if len(text) > max_chars:
        raise ValidationFailed(fields={field: f"{label}不能超过 {max_chars} 个字符（现有 {len(text)} 个）"})
    return text
