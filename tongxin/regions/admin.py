from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tongxin.core.masking import mask_phone

from .models import Area, GridMember


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


@admin.register(GridMember)
class GridMemberAdmin(admin.ModelAdmin):
    """Read-only: roster changes go through the services (the API), which validate and audit them."""

    list_display = ["name", "duty", "grid", "masked_phone", "user", "active", "since", "until"]
    list_filter = ["duty", "active"]
    search_fields = ["name", "grid__code", "grid__name"]
    list_select_related = ["grid", "user"]
    exclude = ["phone"]
    readonly_fields = ["masked_phone"]

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj: GridMember) -> str:
        return mask_phone(obj.phone)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("grid__boundary")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
