from django.contrib import admin

from .models import CaseEvent, DisputeCase, MediationOrg, Mediator


class MediatorInline(admin.TabularInline):
    model = Mediator
    extra = 0
    fields = ("name", "user", "grade", "specialities", "languages", "is_expert", "phone", "active")
    raw_id_fields = ("user",)


@admin.register(MediationOrg)
class MediationOrgAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "level", "area", "active")
    list_filter = ("kind", "level", "active")
    search_fields = ("code", "name")
    raw_id_fields = ("area",)
    inlines = [MediatorInline]


@admin.register(Mediator)
class MediatorAdmin(admin.ModelAdmin):
    list_display = ("name", "org", "grade", "is_expert", "active")
    list_filter = ("grade", "is_expert", "active", "org__level")
    search_fields = ("name", "org__name")
    raw_id_fields = ("user", "org")


@admin.register(DisputeCase)
class DisputeCaseAdmin(admin.ModelAdmin):
    """Read-only: cases change through the services (the workflow and its timeline) only."""

    list_display = ("number", "title", "status", "received_level", "owner_org", "received_at")
    list_filter = ("status", "received_level", "dispute_type", "source")
    search_fields = ("number", "title")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CaseEvent)
class CaseEventAdmin(admin.ModelAdmin):
    list_display = ("case", "action", "from_status", "to_status", "actor_label", "at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
