"""Admin: households, residents, merchants. Phones masked and ID numbers never shown (only the masked
form); codes re-issued or revoked by actions (audited), printed from the code links."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tongxin.core.masking import mask_phone

from . import services
from .choices import ReportState
from .models import Building, Household, Merchant, RecordChange, Report, Resident


class ResidentInline(admin.TabularInline):
    model = Resident
    extra = 0
    fields = ["name", "phone_masked", "id_masked", "active"]
    readonly_fields = ["name", "phone_masked", "id_masked"]
    can_delete = False

    @admin.display(description="手机号")
    def phone_masked(self, obj: Resident) -> str:
        return mask_phone(obj.phone)

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # residents are added through resident_add (the ID number must be digested)


def _code_links(obj: Household | Merchant) -> str:
    if obj.code_revoked_at is not None:
        return "已停用"
    kind = services.code_kind(obj)
    return format_html('<a href="/r/staff/code/{0}/{1}.png" target="_blank">PNG</a> · '
                       '<a href="/r/staff/code/{0}/{1}.svg" target="_blank">SVG</a>', kind, obj.pk)


@admin.action(description="重新生成二维码（旧二维码立即失效）")
def reissue_codes(modeladmin: Any, request: Any, queryset: Any) -> None:
    for place in queryset:
        services.code_reissue(place=place, actor=request.user)
    messages.success(request, f"已为 {queryset.count()} 个对象重新生成二维码，请打印新的二维码张贴")


@admin.action(description="停用二维码")
def revoke_codes(modeladmin: Any, request: Any, queryset: Any) -> None:
    for place in queryset:
        services.code_revoke(place=place, actor=request.user)
    messages.success(request, f"已停用 {queryset.count()} 个二维码")


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ["address", "building", "unit", "room", "floor_area", "area", "code_version", "codes"]
    search_fields = ["address", "building"]  # no area filter: the city has thousands of areas
    autocomplete_fields = ["area", "grid"]
    # The building is kept by the services (text and link together, with the change history): edit
    # it on the basic-information pages (/grid/info/).
    readonly_fields = ["building", "building_ref", "code_version", "code_revoked_at"]
    inlines = [ResidentInline]
    actions = [reissue_codes, revoke_codes]

    @admin.display(description="二维码")
    def codes(self, obj: Household) -> str:
        return _code_links(obj)


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    list_display = ["masked_name", "phone_masked", "id_masked", "household", "active"]
    search_fields = ["=phone"]  # exact number only: a search box must not list everyone's numbers
    fields = ["household", "name", "active", "id_masked"]
    readonly_fields = ["household", "id_masked"]
    list_select_related = ["household"]

    @admin.display(description="姓名")
    def masked_name(self, obj: Resident) -> str:
        return str(obj)

    @admin.display(description="手机号")
    def phone_masked(self, obj: Resident) -> str:
        return mask_phone(obj.phone)

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "licence_number", "address", "area", "contact_masked", "code_version", "codes"]
    search_fields = ["name", "licence_number"]
    autocomplete_fields = ["area", "grid"]
    readonly_fields = ["code_version", "code_revoked_at"]
    exclude = ["contact_phone"]
    actions = [reissue_codes, revoke_codes]

    @admin.display(description="联系电话")
    def contact_masked(self, obj: Merchant) -> str:
        return mask_phone(obj.contact_phone)

    @admin.display(description="二维码")
    def codes(self, obj: Merchant) -> str:
        return _code_links(obj)


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    """Read here; registered and edited on the basic-information pages (validated, with history)."""

    list_display = ["name", "area", "grid", "floors", "units"]
    search_fields = ["name", "address"]
    list_select_related = ["area", "grid"]
    readonly_fields = ["area", "grid", "name", "address", "floors", "units", "lat", "lng", "footprint", "created_at"]

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(RecordChange)
class RecordChangeAdmin(admin.ModelAdmin):
    """The change history of basic information: append-only, so read-only here."""

    list_display = ["at", "actor_label", "object_type", "object_id", "action"]
    list_filter = ["object_type", "action"]
    search_fields = ["=object_id", "actor_label"]
    readonly_fields = ["at", "actor", "actor_label", "object_type", "object_id", "action", "changes", "note"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Residents' reports as receipts (ADR 0010): filter 状态 = 登记失败 for the ones whose order could not
    be made, read the reason, fix its cause, then 重新登记. Read-only otherwise; the text is the
    resident's, the phone masked."""

    list_display = ["receipt", "state", "created_at", "registered_at", "order", "photos", "attempts", "failure_short"]
    list_filter = ["state", "channel"]
    search_fields = ["=receipt", "order__number"]
    list_select_related = ["order"]
    ordering = ["-created_at"]
    actions = ["retry_registration"]
    fields = ("receipt", "state", "failure", "attempts", "created_at", "registered_at", "order", "household",
              "merchant", "phone_masked", "kind", "category_code", "channel", "anonymous", "content", "lat", "lng",
              "point_source", "photos", "staged_photos")
    readonly_fields = fields

    @admin.display(description=_("登记失败原因"))
    def failure_short(self, obj: Report) -> str:
        return obj.failure[:80]

    @admin.display(description=_("手机号"))
    def phone_masked(self, obj: Report) -> str:
        return mask_phone(obj.phone)

    @admin.display(description=_("待登记照片"))
    def staged_photos(self, obj: Report) -> int:
        return obj.uploads.count()

    @admin.action(description=_("重新登记（原因排除后）"))
    def retry_registration(self, request: Any, queryset: Any) -> None:
        done = failed = 0
        for pk in queryset.filter(state=ReportState.FAILED).values_list("pk", flat=True):
            try:
                outcome = services.report_retry(report_id=pk).outcome
            except Exception as exc:  # shown to the operator; the receipt stays received for the sweep
                self.message_user(request, f"{pk}: {exc}", messages.ERROR)
                failed += 1
                continue
            done += outcome == "registered"
            failed += outcome == "failed"
        self.message_user(request, _("已登记 %(done)s 条，仍失败 %(failed)s 条") % {"done": done, "failed": failed},
                          messages.SUCCESS if not failed else messages.WARNING)

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return request.method in ("GET", "HEAD") or request.POST.get("action") == "retry_registration"

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
