from django.contrib import admin

from .models import Area


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "generated"]
    list_filter = ["level", "generated"]
    search_fields = ["code", "name"]
    readonly_fields = ["path", "depth", "min_lng", "min_lat", "max_lng", "max_lat"]
    exclude = ["boundary"]
    autocomplete_fields = ["parent"]

    def has_change_permission(self, request, obj=None):
        # The tree's paths are maintained by the import services: areas are read-only here.
        return False
