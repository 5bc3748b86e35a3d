from django.contrib import admin

from .models import FieldReport, Opinion, OpinionTopic, Patrol, PatrolCheckin


@admin.register(OpinionTopic)
class OpinionTopicAdmin(admin.ModelAdmin):
    """The configurable topic list of 社情民意: add, rename, reorder or deactivate."""

    list_display = ("name", "code", "order", "active")
    list_editable = ("order", "active")


class CheckinInline(admin.TabularInline):
    model = PatrolCheckin
    extra = 0
    can_delete = False
    readonly_fields = ("at", "lat", "lng", "accuracy_m", "datum", "inside_grid", "note")


class ReadOnly(admin.ModelAdmin):
    """Field records are written by the field pages only (through the services): read here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Patrol)
class PatrolAdmin(ReadOnly):
    list_display = ("grid", "worker", "started_at", "ended_at", "distance_m")
    list_filter = ("ended_at",)
    raw_id_fields = ("grid", "worker")
    inlines = [CheckinInline]


@admin.register(FieldReport)
class FieldReportAdmin(ReadOnly):
    list_display = ("text", "grid", "worker", "status", "created_at", "work_order_number")
    list_filter = ("status",)
    search_fields = ("text", "work_order_number")
    raw_id_fields = ("grid", "worker", "patrol")


@admin.register(Opinion)
class OpinionAdmin(ReadOnly):
    list_display = ("text", "topic", "grid", "created_at")
    list_filter = ("topic",)
    search_fields = ("text", "address")
    raw_id_fields = ("grid", "author")
