"""Writes to the category tree, SLA policies and the dispatch catalogue (configuration)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from pypinyin import Style, lazy_pinyin

from tongxin.core.audit import audit_record
from tongxin.core.choices import AuditEventType
from tongxin.core.errors import ValidationFailed

from .models import Category, DispatchRule
from .sla import invalidate_sla_cache


def pinyin_initials(text: str) -> str:
    """垃圾清理 -> "ljql": the first letter of each character's pinyin (letters and digits kept)."""
    return "".join(p[0] for p in lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore") if p).lower()


@transaction.atomic
def category_upsert(*, code: str, name: str, parent: Category | None = None, keywords: str = "",
                    sla_policy: Any = None, active: bool = True) -> Category:
    """Create or update a category by code; maintains level, path and pinyin initials."""
    level = parent.level + 1 if parent else 1
    if level > 3:
        raise ValidationFailed(fields={"parent": "分类最多三级"})
    category, _created = Category.objects.update_or_create(
        code=code,
        defaults={"name": name, "parent": parent, "keywords": keywords, "active": active, "level": level,
                  "initials": pinyin_initials(name), **({"sla_policy": sla_policy} if sla_policy is not None else {})},
    )
    path = (parent.path if parent else "/") + f"{category.pk}/"
    if category.path != path:
        category.path = path
        category.save(update_fields=["path"])
    transaction.on_commit(invalidate_sla_cache)
    return category


@transaction.atomic
def categories_import_taxonomy(*, rows: list[dict[str, str]], actor: Any = None) -> dict[str, int]:
    """Seed the three-level tree from rows with level1, level2, level3 (taxonomy.csv's layout). Codes
    are positional (C01, C0103, C010302) and stable for the same file."""
    before = Category.objects.count()
    level1: dict[str, Category] = {}
    level2: dict[tuple[str, str], Category] = {}
    counters: dict[str, int] = {}

    def next_code(prefix: str) -> str:
        counters[prefix] = counters.get(prefix, 0) + 1
        return f"{prefix}{counters[prefix]:02d}"

    for row in rows:
        n1, n2, n3 = (row.get("level1") or "").strip(), (row.get("level2") or "").strip(), (row.get("level3") or "").strip()
        if not n1:
            continue
        if n1 not in level1:
            level1[n1] = category_upsert(code=next_code("C"), name=n1)
        if n2 and (n1, n2) not in level2:
            level2[(n1, n2)] = category_upsert(code=next_code(level1[n1].code), name=n2, parent=level1[n1])
        if n2 and n3:
            parent = level2[(n1, n2)]
            category_upsert(code=next_code(parent.code), name=n3, parent=parent)
    audit_record(actor=actor, event_type=AuditEventType.CATALOGUE_CHANGED, object_type="category",
                 data={"source": "taxonomy", "rows": len(rows)})
    return {"created": Category.objects.count() - before, "total": Category.objects.count()}


@transaction.atomic
def dispatch_rule_create(*, lead_department: Any, category: Category | None = None, area: Any = None,
                         co_departments: list[Any] | None = None, priority: int = 0, note: str = "",
                         actor: Any = None) -> DispatchRule:
    rule = DispatchRule.objects.create(category=category, area=area, lead_department=lead_department,
                                       priority=priority, note=note)
    if co_departments:
        rule.co_departments.set(co_departments)
    audit_record(actor=actor, event_type=AuditEventType.CATALOGUE_CHANGED, object_type="dispatch_rule",
                 object_id=rule.pk, data={"lead": lead_department.code})
    return rule
