from django.contrib import admin

from .models import (
    Category,
    DispatchRule,
    KnowledgeArticle,
    SlaPolicy,
    SlaRule,
    WorkOrder,
    WorkOrderEvent,
)
from .sla import invalidate_sla_cache


class SlaRuleInline(admin.TabularInline):
    model = SlaRule
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "warning_ratio", "is_default"]
    inlines = [SlaRuleInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        invalidate_sla_cache()


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "sla_policy", "active"]
    list_filter = ["level", "active"]
    search_fields = ["code", "name", "initials", "keywords"]
    readonly_fields = ["level", "path", "initials"]
    fields = ["code", "name", "parent", "sla_policy", "keywords", "active", "level", "path", "initials"]

    def save_model(self, request, obj, form, change):
        from .catalogue import category_upsert

        category_upsert(code=obj.code, name=obj.name, parent=obj.parent, keywords=obj.keywords,
                        sla_policy=obj.sla_policy, active=obj.active)


@admin.register(DispatchRule)
class DispatchRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "area", "lead_department", "priority", "active"]
    list_filter = ["active"]
    autocomplete_fields = ["category", "area", "lead_department"]
    filter_horizontal = ["co_departments"]


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(admin.ModelAdmin):
    list_display = ["question", "category", "active", "updated_at"]
    search_fields = ["question", "answer", "keywords"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Orders and events change only through the workflow services; the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WorkOrder)
class WorkOrderAdmin(ReadOnlyAdmin):
    list_display = ["number", "status", "channel", "kind", "category", "lead_department", "accepted_at", "due_at"]
    list_filter = ["status", "channel", "kind", "urgency"]
    search_fields = ["number"]
    exclude = ["citizen_phone", "citizen_name"]


@admin.register(WorkOrderEvent)
class WorkOrderEventAdmin(ReadOnlyAdmin):
    list_display = ["order", "action", "from_status", "to_status", "actor_label", "at"]
    list_filter = ["action"]
