"""Writes to the knowledge base (知识库): the questions and answers operators use to resolve calls on the
spot. Supervisors (and admins) edit it; every change is audited. Articles are never deleted, only
switched off, so a resolved order's reference to its article stays meaningful."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tongxin.accounts.choices import Role
from tongxin.accounts.selectors import actor_scope
from tongxin.core.audit import audit_record
from tongxin.core.choices import AuditEventType
from tongxin.core.errors import NotFound, PermissionDenied, ValidationFailed

from .lookups import invalidate_lookup_cache
from .models import Category, KnowledgeArticle

EDITOR_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def knowledge_can_edit(actor: Any) -> bool:
    scope = actor_scope(actor)
    return scope.is_admin or bool(scope.roles & EDITOR_ROLES)


@transaction.atomic
def knowledge_article_save(
    *, actor: Any, question: str, answer: str, keywords: str = "", category_code: str = "", active: bool = True,
    article_id: Any = None,
) -> KnowledgeArticle:
    """Create (no ``article_id``) or update an article. Errors name the field."""
    if not knowledge_can_edit(actor):
        raise PermissionDenied("只有督办员和管理员可以编辑知识库")
    question, answer, keywords = (question or "").strip(), (answer or "").strip(), (keywords or "").strip()
    fields: dict[str, str] = {}
    if not question:
        fields["question"] = "问题不能为空"
    elif len(question) > 300:
        fields["question"] = "问题最多 300 字"
    if not answer:
        fields["answer"] = "答案不能为空"
    elif len(answer) > 5000:
        fields["answer"] = "答案最多 5000 字"
    if len(keywords) > 300:
        fields["keywords"] = "关键词最多 300 字"
    category = None
    if category_code:
        category = Category.objects.filter(code=category_code, active=True).first()
        if category is None:
            fields["category_code"] = f"分类 {category_code} 不存在或已停用"
    if fields:
        raise ValidationFailed(fields=fields)
    if article_id is not None:
        article = KnowledgeArticle.objects.select_for_update().filter(pk=article_id).first()
        if article is None:
            raise NotFound()
        before = {"question": article.question, "active": article.active}
    else:
        article, before = KnowledgeArticle(), None
    article.question, article.answer, article.keywords = question, answer, keywords
    article.category, article.active = category, active
    article.save()
    audit_record(actor=actor, event_type=AuditEventType.CATALOGUE_CHANGED, object_type="knowledge_article",
                 object_id=article.pk, data={"created": before is None, "before": before,
                                             "question": question, "active": active})
    transaction.on_commit(invalidate_lookup_cache)
    return article
