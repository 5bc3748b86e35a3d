"""Admin of the Open311 adapter: API keys (the key is shown once, when it is created), the service
settings of each category with their attributes, and read-only lists of what clients posted
(without the personal data they sent)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from tongxin.core.errors import ValidationFailed

from . import services
from .models import LIST_DATATYPES, ApiKey, Attribute, RequestUpdate, Service, ServiceRequest


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "owner", "rate_limit", "active"]

    def clean_owner(self) -> Any:
        owner = self.cleaned_data.get("owner")
        try:
            services.api_key_owner_check(owner)
        except ValidationFailed as exc:
            raise ValidationError(exc.fields.get("owner", exc.message)) from None
        return owner

    def clean_rate_limit(self) -> int:
        value = self.cleaned_data["rate_limit"]
        if not 1 <= value <= 100_000:
            raise ValidationError("每分钟请求上限必须在 1 到 100000 之间")
        return value


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["name", "prefix", "owner", "rate_limit", "active", "created_at", "last_used_at"]
    list_filter = ["active"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    autocomplete_fields = ["owner"]

    def save_model(self, request: Any, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        plain = services.api_key_issue(obj, actor=request.user)
        messages.warning(request, f"接口密钥「{obj.name}」已创建，密钥为 {plain} （只显示这一次，请立即复制并安全地交给调用方）")

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # keys are deactivated, never deleted: the requests they posted point to them


class AttributeForm(forms.ModelForm):
    """The values of a list attribute are edited as lines of ``key=name``."""

    values_text = forms.CharField(
        label="可选值", required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 30}),
        help_text="单选/多选时填写，每行一个：代码=名称，例如 household=生活垃圾",
    )

    class Meta:
        model = Attribute
        fields = ["code", "description", "datatype", "required", "variable", "order", "datatype_description"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["values_text"].initial = "\n".join(
                f"{v.get('key')}={v.get('name')}" for v in self.instance.values or [] if isinstance(v, dict)
            )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        values = []
        keys: set[str] = set()
        for number, line in enumerate((cleaned.get("values_text") or "").splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, name = line.partition("=")
            key, name = key.strip(), name.strip()
            if not sep or not key or not name:
                raise ValidationError({"values_text": f"第 {number} 行格式应为 代码=名称"})
            if key in keys:
                raise ValidationError({"values_text": f"第 {number} 行的代码「{key}」重复"})
            keys.add(key)
            values.append({"key": key, "name": name})
        datatype = cleaned.get("datatype")
        if datatype in LIST_DATATYPES and not values:
            raise ValidationError({"values_text": "单选或多选字段至少需要一个可选值"})
        if datatype not in LIST_DATATYPES and values:
            raise ValidationError({"values_text": "只有单选或多选字段才有可选值"})
        if cleaned.get("required") and not cleaned.get("variable", True):
            raise ValidationError({"required": "仅展示说明的字段（不需要填写）不能设为必填"})
        self.instance.values = values
        return cleaned


class AttributeInline(admin.StackedInline):
    model = Attribute
    form = AttributeForm
    extra = 0


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["category", "kind", "publish", "updated_at"]
    list_filter = ["kind", "publish"]
    search_fields = ["category__code", "category__name"]
    autocomplete_fields = ["category"]
    inlines = [AttributeInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ReadOnlyAdmin):
    list_display = ["order", "service_code", "api_key", "created_at"]
    list_filter = ["api_key"]
    search_fields = ["order__number", "token"]
    # The personal data a client sent is not shown here (the order's citizen fields are masked in the
    # work-order pages, with an audited reveal).
    fields = ["order", "api_key", "token", "service_code", "attributes", "address_id", "media_url", "created_at"]


@admin.register(RequestUpdate)
class RequestUpdateAdmin(ReadOnlyAdmin):
    list_display = ["order", "api_key", "client_update_id", "created_at"]
    list_filter = ["api_key"]
    search_fields = ["order__number", "client_update_id"]
    fields = ["order", "api_key", "event", "client_update_id", "client_updated_at", "media_url", "created_at"]
