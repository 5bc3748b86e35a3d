"""Admin: topics and their options read-only once open (every change goes through the services; the
counters are the only record of a secret ballot's choices and are never edited by hand)."""

from __future__ import annotations

from django.contrib import admin

from .models import Option, Topic


class OptionInline(admin.TabularInline):
    model = Option
    extra = 0
    fields = ("position", "label", "stance", "ballots", "area")
    readonly_fields = ("position", "label", "stance", "ballots", "area")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "status", "area", "opens_at", "closes_at", "secret", "electors_count")
    list_filter = ("status", "kind", "secret")
    search_fields = ("title",)
    inlines = [OptionInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Topic._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # topics are created on the staff pages or the API (validated, audited)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
