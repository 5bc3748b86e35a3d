from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tongxin.accounts.choices import Role
from tongxin.accounts.services import role_grant

from .models import CaseEvent, DisputeCase, MediationOrg, Mediator, Party
from .services import AREA_TO_LEVEL


def _grant_mediator_role(mediator: Mediator, actor) -> None:
    """A mediator with a login needs the mediator role on the organisation's area (as mediator_ensure does)."""
    if mediator.user is not None:
        role_grant(user=mediator.user, role=Role.MEDIATOR, area=mediator.org.area, actor=actor)


class MediatorInline(admin.TabularInline):
    model = Mediator
    extra = 0
    fields = ("name", "user", "grade", "specialities", "languages", "is_expert", "phone", "active")
    raw_id_fields = ("user",)


class MediationOrgForm(forms.ModelForm):
    class Meta:
        model = MediationOrg
        fields = "__all__"  # noqa: DJ007 - every editable field of an organisation is configuration

    def clean_area(self):
        area = self.cleaned_data["area"]
        if area.level == "grid":
            raise ValidationError(_("调解组织不能设在网格"))
        return area


@admin.register(MediationOrg)
class MediationOrgAdmin(admin.ModelAdmin):
    form = MediationOrgForm
    list_display = ("code", "name", "kind", "level", "area", "active")
    list_filter = ("kind", "level", "active")
    search_fields = ("code", "name")
    raw_id_fields = ("area",)
    readonly_fields = ("level",)
    inlines = [MediatorInline]

    def save_model(self, request, obj, form, change):
        obj.level = AREA_TO_LEVEL[obj.area.level]  # the level follows the area, as in services.org_ensure
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        for mediator in formset.queryset.filter(org=form.instance):
            _grant_mediator_role(mediator, request.user)


@admin.register(Mediator)
class MediatorAdmin(admin.ModelAdmin):
    list_display = ("name", "org", "grade", "is_expert", "active")
    list_filter = ("grade", "is_expert", "active", "org__level")
    search_fields = ("name", "org__name")
    raw_id_fields = ("user", "org")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _grant_mediator_role(obj, request.user)


class PartyInline(admin.TabularInline):
    """The parties, masked: the admin never shows a sealed value nor a clear one (the audited reveal on
    the case page is the only way to the full number)."""

    model = Party
    extra = 0
    fields = ("name", "side", "kind", "phone_masked", "id_masked")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DisputeCase)
class DisputeCaseAdmin(admin.ModelAdmin):
    """Read-only: cases change through the services (the workflow and its timeline) only."""

    list_display = ("number", "title", "status", "received_level", "owner_org", "received_at")
    list_filter = ("status", "received_level", "dispute_type", "source")
    search_fields = ("number", "title")
    inlines = [PartyInline]

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
