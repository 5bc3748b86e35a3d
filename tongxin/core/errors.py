"""Domain errors: one stable machine code, one message for people (Chinese source, translated to the
request's language by gettext: docs/i18n.md), and the fields at fault.

Services raise these; the API layer turns every one of them into the single error shape
``{"code": ..., "message": ..., "fields": {...}}`` with the class's HTTP status.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class ApplicationError(Exception):
    """Base class of every error a user can cause. ``code`` is stable: programs branch on it."""

    status = 400
    code = "invalid"
    default_message: str | Promise = gettext_lazy("请求无效")

    def __init__(self, message: str | Promise | None = None, *, code: str | None = None, fields: dict[str, Any] | None = None):
        # str(): the message is fixed in the language active where the error is raised (the request's).
        self.message = str(message or self.default_message)
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
    default_message = gettext_lazy("提交的内容有误，请检查标出的字段")


class NotFound(ApplicationError):
    """Missing, or outside the actor's jurisdiction: both look the same to the caller."""

    status = 404
    code = "not_found"
    default_message = gettext_lazy("未找到该记录")


class PermissionDenied(ApplicationError):
    """The actor can see the object but may not take this action on it."""

    status = 403
    code = "forbidden"
    default_message = gettext_lazy("您无权执行此操作")


class Conflict(ApplicationError):
    """The object changed under the caller (another user acted first) or the action is illegal now."""

    status = 409
    code = "conflict"
    default_message = gettext_lazy("该记录的状态已变化，请刷新后重试")


class IllegalTransition(Conflict):
    code = "illegal_transition"
    default_message = gettext_lazy("当前状态下不能执行此操作")


class Unauthenticated(ApplicationError):
    status = 401
    code = "unauthenticated"
    default_message = gettext_lazy("请先登录")


def require_text(value: Any, field: str, *, label: str, max_chars: int, required: bool = True) -> str:
    """The services' check of one text field: stripped; no NUL; present when ``required``; at most
    ``max_chars`` characters. Every error names the field and says why (``label`` is
    already translated by the caller)."""
    text = str(value or "").strip()
    if "\x00" in text:
        raise ValidationFailed(fields={field: _("%(label)s包含无效的空字符") % {"label": label}})
    if required and not text:
        raise ValidationFailed(fields={field: _("%(label)s不能为空") % {"label": label}})
    if len(text) > max_chars:
        raise ValidationFailed(fields={field: _("%(label)s不能超过 %(max)s 个字符（现有 %(count)s 个）") % {"label": label, "max": max_chars, "count": len(text)}})
    return text
