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

    # The tree's paths are maintained by the import services (tongxin regions ...): an area added or
    # edited here would have no path, and a role scoped to it would see the whole city.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
