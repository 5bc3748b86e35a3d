"""Staff pages for basic information (基础信息采集) under /grid/info/: buildings, households, residents and
merchants of the actor's area, kept by grid workers in the field (phone-sized pages) and community
staff at a desk.

Who: grid workers (or admins) write in their own area — a grid worker whose scope is a grid writes
in that grid; leaders read. Any record outside the actor's area answers 404, like a missing one.
Personal data is masked everywhere; a full phone is shown only after a deliberate, audited click;
ID numbers are never stored, so never shown. Every write goes through a service (one transaction)
and leaves a change record, shown as the history on the record's page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongxin.core.errors import NotFound
from tongxin.core.forms import run_service
from tongxin.core.masking import mask_name, mask_phone
from tongxin.regions.models import Area

from . import importer, selectors, services
from .choices import ChangeAction, RecordType
from .models import Building, Household, Merchant, Resident

KINDS = {
    "households": (RecordType.HOUSEHOLD, gettext_lazy("住户")),
    "residents": (RecordType.RESIDENT, gettext_lazy("居民")),
    "buildings": (RecordType.BUILDING, gettext_lazy("楼栋")),
    "merchants": (RecordType.MERCHANT, gettext_lazy("商户")),
}
FIELD_LABELS = {
    "area": gettext_lazy("所属社区"), "grid": gettext_lazy("所属网格"), "name": gettext_lazy("名称/姓名"),
    "address": gettext_lazy("地址"), "floors": gettext_lazy("层数"), "units": gettext_lazy("单元数"),
    "lat": gettext_lazy("纬度"), "lng": gettext_lazy("经度"), "footprint": gettext_lazy("轮廓"),
    "building": gettext_lazy("楼栋"), "unit": gettext_lazy("单元"), "room": gettext_lazy("门牌号"),
    "floor_area": gettext_lazy("面积（平方米）"), "phone": gettext_lazy("手机号"),
    "id_masked": gettext_lazy("身份证号（脱敏）"), "birth_date": gettext_lazy("出生日期"),
    "is_owner": gettext_lazy("业主"), "active": gettext_lazy("在册"), "household": gettext_lazy("住户"),
    "verified_at": gettext_lazy("实名核验"), "licence_number": gettext_lazy("执照号"),
    "contact_name": gettext_lazy("联系人"), "contact_phone": gettext_lazy("联系电话"),
}
PAGE = 50


# --- access -------------------------------------------------------------------------------------------------

def _reader(request: HttpRequest) -> Any:
    """The signed-in staff member, if they may read basic information at all (else 404: no page here)."""
    if not selectors.info_can_read(request.user):
        raise Http404(_("未找到"))
    return request.user


def _get(getter: Any, request: HttpRequest, pk: Any) -> Any:
    try:
        return getter(actor=request.user, pk=pk)
    except NotFound:
        raise Http404(_("未找到该记录")) from None


def _editor(request: HttpRequest, record: Any = None) -> None:
    """Writes: in the actor's own area (a leader, or a worker of another grid of the same community, may
    read but not write: 403)."""
    if record is None:
        if not selectors.info_can_write(request.user):
            raise PermissionDenied(_("您只能查看，不能修改基础信息"))
    elif not selectors.info_can_edit(request.user, record):
        raise PermissionDenied(_("您只能查看，不能修改这条记录"))


def _context(request: HttpRequest, tab: str, **extra: Any) -> dict[str, Any]:
    return {"tab": tab, "can_write": selectors.info_can_write(request.user), "kinds": KINDS, **extra}


# --- forms ---------------------------------------------------------------------------------------------------

def _text(label: Any, *, required: bool = False, textarea: bool = False, **attrs: Any) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": 3, **attrs}) if textarea else forms.TextInput(attrs=attrs)
    # Presence, lengths and formats are the services' checks (one place, one Chinese message per field,
    # every field's error at once): the form field itself is optional and only marked as required.
    field = forms.CharField(label=label, required=False, widget=widget, strip=True)
    field.show_required = required  # type: ignore[attr-defined]
    return field


class _PlaceFields(forms.Form):
    """Community and grid, limited to where the actor may write."""

    def __init__(self, *args: Any, actor: Any, fixed_area: Area | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        communities, grids = selectors.info_areas(actor)
        if fixed_area is not None:
            del self.fields["area"]
            grids = [g for g in grids if g.path.startswith(fixed_area.path)]
        else:
            self.fields["area"].queryset = Area.objects.defer("boundary").filter(pk__in=[a.pk for a in communities])  # type: ignore[attr-defined]
            if len(communities) == 1:
                self.fields["area"].initial = communities[0].pk
        self.fields["grid"].queryset = Area.objects.defer("boundary").filter(pk__in=[g.pk for g in grids])  # type: ignore[attr-defined]
        for name in ("area", "grid"):
            if name in self.fields:
                self.fields[name].label_from_instance = lambda area: area.name  # type: ignore[attr-defined]
        if len(grids) == 1 and not self.is_bound:
            self.fields["grid"].initial = grids[0].pk

    area = forms.ModelChoiceField(label=gettext_lazy("所属社区"), queryset=Area.objects.none(), required=False,
                                  error_messages={"invalid_choice": gettext_lazy("不在您的管辖范围内")})
    area.show_required = True  # type: ignore[attr-defined]
    grid = forms.ModelChoiceField(label=gettext_lazy("所属网格"), queryset=Area.objects.none(), required=False,
                                  error_messages={"invalid_choice": gettext_lazy("不在您的管辖范围内")})


class BuildingForm(_PlaceFields):
    name = _text(gettext_lazy("楼栋名称"), required=True, placeholder=gettext_lazy("如 3号楼"))
    address = _text(gettext_lazy("地址"))
    floors = _text(gettext_lazy("层数"), inputmode="numeric")
    units = _text(gettext_lazy("单元数"), inputmode="numeric")
    lat = _text(gettext_lazy("纬度（WGS-84）"), inputmode="decimal")
    lng = _text(gettext_lazy("经度（WGS-84）"), inputmode="decimal")
    footprint = _text(gettext_lazy("轮廓（GeoJSON 多边形，可不填）"), textarea=True)


class HouseholdForm(_PlaceFields):
    building = forms.ModelChoiceField(label=gettext_lazy("楼栋"), queryset=Building.objects.none(), required=False,
                                      error_messages={"invalid_choice": gettext_lazy("不在您的管辖范围内")})
    new_building = _text(gettext_lazy("或填写新楼栋名称"), placeholder=gettext_lazy("如 5号楼（自动登记）"))
    unit = _text(gettext_lazy("单元"), placeholder=gettext_lazy("如 2单元"))
    room = _text(gettext_lazy("门牌号"), placeholder=gettext_lazy("如 301"))
    address = _text(gettext_lazy("地址"), required=True)
    floor_area = _text(gettext_lazy("面积（平方米）"), inputmode="decimal")

    def __init__(self, *args: Any, actor: Any, **kwargs: Any):
        super().__init__(*args, actor=actor, **kwargs)
        self.fields["building"].queryset = selectors.buildings_visible_to(actor).order_by("area__path", "name")  # type: ignore[attr-defined]


class ResidentForm(forms.Form):
    name = _text(gettext_lazy("姓名"), required=True, autocomplete="off")
    phone = _text(gettext_lazy("手机号（接收登录验证码，可不填）"), inputmode="tel", autocomplete="off")
    id_number = _text(gettext_lazy("身份证号"), autocomplete="off", inputmode="text")
    birth_date = _text(gettext_lazy("出生日期（无身份证号时填写）"), type="date")
    is_owner = forms.BooleanField(label=gettext_lazy("业主（拥有本户房屋产权）"), required=False)
    id_checked = forms.BooleanField(label=gettext_lazy("已当面核验身份证（实名核验）"), required=False)
    active = forms.BooleanField(label=gettext_lazy("在册（迁出请取消勾选）"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["id_number"].widget.attrs["placeholder"] = _("留空则不修改；身份证号只保存脱敏形式")
        else:
            del self.fields["active"]


class MerchantForm(_PlaceFields):
    name = _text(gettext_lazy("商户名称"), required=True)
    licence_number = _text(gettext_lazy("统一社会信用代码/营业执照号"))
    address = _text(gettext_lazy("地址"), required=True)
    contact_name = _text(gettext_lazy("联系人"))
    contact_phone = _text(gettext_lazy("联系电话（手机或带区号的固话）"), inputmode="tel")


class ImportForm(forms.Form):
    area = forms.ModelChoiceField(label=gettext_lazy("导入到社区"), queryset=Area.objects.none(),
                                  error_messages={"required": gettext_lazy("请选择社区"),
                                                  "invalid_choice": gettext_lazy("不在您的管辖范围内")})
    file = forms.FileField(label=gettext_lazy("文件（.xlsx 或 .csv）"),
                           error_messages={"required": gettext_lazy("请选择要导入的文件")})
    dry_run = forms.BooleanField(label=gettext_lazy("只检查，不保存"), required=False, initial=True)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        communities, _grids = selectors.info_areas(actor)
        field = self.fields["area"]
        field.queryset = Area.objects.defer("boundary").filter(pk__in=[a.pk for a in communities])  # type: ignore[attr-defined]
        field.label_from_instance = lambda area: area.name  # type: ignore[attr-defined]
        if len(communities) == 1:
            field.initial = communities[0].pk  # type: ignore[attr-defined]


# --- history ----------------------------------------------------------------------------------------------

def _history(record_type: str, pk: int) -> list[dict[str, Any]]:
    rows = []
    for change in selectors.record_history(record_type=record_type, object_id=pk):
        items = [(FIELD_LABELS.get(field, field), _display(before), _display(after))
                 for field, (before, after) in change.changes.items()]
        rows.append({"change": change, "label": ChangeAction(change.action).label if change.action in
                     ChangeAction.values else change.action, "items": items})
    return rows


def _display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return _("是")
    if value is False:
        return _("否")
    return str(value)


# --- lists ---------------------------------------------------------------------------------------------------

@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    _reader(request)
    return redirect("residents_staff:list", kind="households")


@login_required
@require_GET
def record_list(request: HttpRequest, kind: str) -> HttpResponse:
    actor = _reader(request)
    if kind not in KINDS:
        raise Http404(_("未找到"))
    record_type, _label = KINDS[kind]
    query = (request.GET.get("q") or "").strip()[:60]
    grid = _int(request.GET.get("grid"))
    building = _int(request.GET.get("building"))
    rows = list(selectors.info_search(actor=actor, kind=record_type, query=query, grid=grid, building=building,
                                      limit=PAGE + 1))
    _communities, grids = selectors.info_areas(actor) if selectors.info_can_write(actor) else ([], [])
    return render(request, "residents/staff/list.html", _context(
        request, kind, kind=kind, record_type=record_type, rows=rows[:PAGE], more=len(rows) > PAGE, q=query,
        grid=grid, grids=grids, building=building,
        masked=[(r, mask_name(r.name), mask_phone(r.phone)) for r in rows[:PAGE]] if record_type == "resident" else [],
    ))


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# --- buildings -----------------------------------------------------------------------------------------------

@login_required
@require_GET
def building_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    building = _get(selectors.building_get, request, pk)
    households = list(building.households.order_by("unit", "room", "id")[:200])
    return render(request, "residents/staff/building.html", _context(
        request, "buildings", building=building, households=households,
        can_edit=selectors.info_can_edit(request.user, building), history=_history(RecordType.BUILDING, building.pk)))


def _building_call(actor: Any, building: Building | None) -> Any:
    def call(data: dict[str, Any]) -> Building:
        values: dict[str, Any] = {k: data.get(k) for k in ("grid", "name", "address", "floors", "units", "lat", "lng",
                                                           "footprint")}
        if building is None:
            return services.building_create(actor=actor, area=data["area"], **values)
        return services.building_update(actor=actor, building=building, **values)
    return call


@login_required
@require_http_methods(["GET", "POST"])
def building_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    actor = _reader(request)
    building = _get(selectors.building_get, request, pk) if pk else None
    _editor(request, building)
    initial = _initial(building, ["grid", "name", "address", "floors", "units", "lat", "lng"]) if building else {}
    if building and building.footprint:
        import json

        initial["footprint"] = json.dumps(building.footprint, ensure_ascii=False)
    form = BuildingForm(request.POST if request.method == "POST" else None, actor=actor, initial=initial,
                        fixed_area=building.area if building else None)
    if request.method == "POST":
        ok, saved = run_service(form, _building_call(actor, building), not_found=_("未找到该记录"))
        if ok:
            return redirect("residents_staff:building", pk=saved.pk)
    return render(request, "residents/staff/form.html", _context(
        request, "buildings", form=form, record=building,
        heading=_("编辑楼栋") if building else _("登记楼栋"),
        back=reverse("residents_staff:building", args=[building.pk]) if building else reverse(
            "residents_staff:list", args=["buildings"])), status=422 if form.errors else 200)


def _initial(record: Any, fields: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in fields:
        value = getattr(record, field)
        values[field] = getattr(value, "pk", value) if value is not None else ""
    return values


# --- households ----------------------------------------------------------------------------------------------

@login_required
@require_GET
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    household = _get(selectors.household_get, request, pk)
    residents = [(r, mask_name(r.name), mask_phone(r.phone)) for r in household.residents.order_by("-active", "id")]
    return render(request, "residents/staff/household.html", _context(
        request, "households", household=household, residents=residents,
        can_edit=selectors.info_can_edit(request.user, household),
        history=_history(RecordType.HOUSEHOLD, household.pk)))


def _form_page(request: HttpRequest, tab: str, form: forms.Form, call: Callable[[dict[str, Any]], Any], *,
               record: Any, detail: str, heading: str, back: str, **extra: Any) -> HttpResponse:
    """The register/edit page of a household, resident or merchant: a valid POST runs ``call`` (the
    service) and goes to the saved record's page (``detail``); otherwise the shared form page, 422 while
    the form has errors."""
    if request.method == "POST":
        ok, saved = run_service(form, call, not_found=_("未找到该记录"))
        if ok:
            return redirect(detail, pk=saved.pk)
    return render(request, "residents/staff/form.html", _context(
        request, tab, form=form, record=record, heading=heading, back=back, **extra),
        status=422 if form.errors else 200)


def _household_call(actor: Any, household: Household | None) -> Any:
    def call(data: dict[str, Any]) -> Household:
        building: Any = data.get("building") or data.get("new_building") or ""
        values = {"grid": data.get("grid"), "address": data.get("address"), "building": building,
                  "unit": data.get("unit"), "room": data.get("room"), "floor_area": data.get("floor_area")}
        if household is None:
            return services.household_create(actor=actor, area=data["area"], **values)
        return services.household_update(actor=actor, household=household, **values)
    return call


@login_required
@require_http_methods(["GET", "POST"])
def household_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    actor = _reader(request)
    household = _get(selectors.household_get, request, pk) if pk else None
    _editor(request, household)
    initial: dict[str, Any] = {}
    if household:
        initial = _initial(household, ["grid", "unit", "room", "address", "floor_area"])
        initial["building"] = household.building_ref_id or ""
    elif request.GET.get("building"):
        initial["building"] = _int(request.GET.get("building")) or ""
    form = HouseholdForm(request.POST if request.method == "POST" else None, actor=actor, initial=initial,
                         fixed_area=household.area if household else None)
    return _form_page(
        request, "households", form, _household_call(actor, household), record=household,
        detail="residents_staff:household", heading=_("编辑住户") if household else _("登记住户"),
        back=reverse("residents_staff:household", args=[household.pk]) if household else reverse(
            "residents_staff:list", args=["households"]))


# --- residents -----------------------------------------------------------------------------------------------

@login_required
@require_GET
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    resident = _get(selectors.resident_get_for, request, pk)
    return render(request, "residents/staff/resident.html", _context(
        request, "residents", resident=resident, name=mask_name(resident.name), phone=mask_phone(resident.phone),
        can_edit=selectors.info_can_edit(request.user, resident),
        history=_history(RecordType.RESIDENT, resident.pk)))


@login_required
@require_http_methods(["GET", "POST"])
def resident_form(request: HttpRequest, household_pk: int | None = None, pk: int | None = None) -> HttpResponse:
    _reader(request)
    resident = _get(selectors.resident_get_for, request, pk) if pk else None
    household = resident.household if resident else _get(selectors.household_get, request, household_pk)
    _editor(request, household)
    initial: dict[str, Any] = {}
    if resident:
        initial = {"name": resident.name, "phone": resident.phone, "is_owner": resident.is_owner,
                   "active": resident.active, "birth_date": resident.birth_date.isoformat() if resident.birth_date
                   else ""}
    form = ResidentForm(request.POST if request.method == "POST" else None, initial=initial, editing=resident is not None)

    def call(data: dict[str, Any]) -> Resident:
        values: dict[str, Any] = {k: data.get(k) for k in ("name", "phone", "id_number", "birth_date", "is_owner",
                                                           "id_checked")}
        if resident is None:
            return services.resident_add(actor=request.user, household=household, **values)
        return services.resident_update(actor=request.user, resident=resident, active=bool(data.get("active")),
                                        **values)

    return _form_page(
        request, "residents", form, call, record=resident, household=household,
        detail="residents_staff:resident", heading=_("编辑居民") if resident else _("登记居民"),
        back=reverse("residents_staff:resident", args=[resident.pk]) if resident else reverse(
            "residents_staff:household", args=[household.pk]))


def _reveal(request: HttpRequest, record: Any, field: str) -> HttpResponse:
    if not selectors.info_can_edit(request.user, record):
        raise PermissionDenied(_("您无权查看完整号码"))
    value = services.personal_data_reveal(actor=request.user, record=record, field=field)
    response = render(request, "residents/staff/_revealed.html", {"value": value})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def resident_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    return _reveal(request, _get(selectors.resident_get_for, request, pk), "phone")


# --- merchants -----------------------------------------------------------------------------------------------

@login_required
@require_GET
def merchant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    merchant = _get(selectors.merchant_get, request, pk)
    return render(request, "residents/staff/merchant.html", _context(
        request, "merchants", merchant=merchant, phone=mask_phone(merchant.contact_phone),
        contact=mask_name(merchant.contact_name), can_edit=selectors.info_can_edit(request.user, merchant),
        history=_history(RecordType.MERCHANT, merchant.pk)))


@login_required
@require_http_methods(["GET", "POST"])
def merchant_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    actor = _reader(request)
    merchant = _get(selectors.merchant_get, request, pk) if pk else None
    _editor(request, merchant)
    fields = ["grid", "name", "licence_number", "address", "contact_name", "contact_phone"]
    form = MerchantForm(request.POST if request.method == "POST" else None, actor=actor, initial=_initial(merchant, fields) if merchant else {},
                        fixed_area=merchant.area if merchant else None)

    def call(data: dict[str, Any]) -> Merchant:
        values: dict[str, Any] = {k: data.get(k) for k in fields}
        if merchant is None:
            return services.merchant_create(actor=actor, area=data["area"], **values)
        return services.merchant_update(actor=actor, merchant=merchant, **values)

    return _form_page(
        request, "merchants", form, call, record=merchant,
        detail="residents_staff:merchant", heading=_("编辑商户") if merchant else _("登记商户"),
        back=reverse("residents_staff:merchant", args=[merchant.pk]) if merchant else reverse(
            "residents_staff:list", args=["merchants"]))


@login_required
@require_POST
def merchant_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    return _reveal(request, _get(selectors.merchant_get, request, pk), "contact_phone")


# --- import --------------------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """The importer behind a form: the same checks and the same report as the command."""
    actor = _reader(request)
    _editor(request)
    form = ImportForm(request.POST if request.method == "POST" else None, request.FILES if request.method == "POST" else None, actor=actor)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = importer.read_rows(upload, name=upload.name)
        except importer.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            result = importer.import_rows(rows, area=form.cleaned_data["area"], actor=actor,
                                          dry_run=form.cleaned_data["dry_run"])
    return render(request, "residents/staff/import.html", _context(
        request, "import", form=form, result=result, columns=importer.COLUMNS),
        status=422 if form.errors or (result and result.errors) else 200)

