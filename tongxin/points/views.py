"""The points pages.

Staff (/points/): the clerk's priority check (camera or typed code: only the tier and its privileges),
the mall operator's pickup desk, the supervision committee's pending awards, appeals, staff awards
(commendations and deductions), mall items, volunteering activities and their hours. Every page is
scoped: a record outside the actor's areas is 404.

Residents (/r/points/, the household-code session of tongxin.residents): balances and tier, the ledger
with appeals, the mall and redemptions (pickup code + QR, cancel), the priority code, volunteering with
on-site check-in/out by geolocation.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import wraps
from typing import Any

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from tongxin.core.errors import ApplicationError, NotFound
from tongxin.core.forms import run_service
from tongxin.core.masking import mask_name
from tongxin.residents.session import session_read

from . import selectors, services
from .choices import PointKind, RedemptionStatus, SignupStatus
from .models import Rule


def qr_svg(text: str) -> str:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, svgclass="qr",
                                     lineclass=None, omitsize=True)  # a viewBox: CSS sizes it
    return out.getvalue().decode("utf-8")


def staff_404(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A record outside the actor's areas (NotFound from a selector or service) is a 404 page."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404(_("未找到该记录")) from None

    return wrapper


def _roles(user: Any) -> dict[str, Any]:
    """Which staff tabs the user sees (a clerk sees only the check)."""
    return {"nav": "points", "is_staff": selectors.is_points_staff(user), "is_clerk": selectors.is_clerk(user),
            "is_committee": selectors.is_committee(user)}


def _require(check: Callable[[Any], bool], request: HttpRequest) -> None:
    if not check(request.user):
        raise Http404(_("未找到该页面"))


# --- staff ---------------------------------------------------------------------------------------------

class ChoicesForm(forms.Form):
    def _choices(self, name: str, choices: list[tuple[Any, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


class CheckForm(forms.Form):
    token = forms.CharField(label=gettext_lazy("优先服务码"), max_length=60,
                            widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True,
                                                          "placeholder": gettext_lazy("扫码或输入居民手机上的号码")}))


@login_required
@staff_404
@require_http_methods(["GET", "POST"])
def check_page(request: HttpRequest) -> HttpResponse:
    """The service-hall clerk's priority check. A QR opened by the phone's own scanner arrives as
    ``?token=``; the page then asks for one click, so a check is always a deliberate, audited POST."""
    _require(selectors.is_clerk, request)
    result = None
    if request.method == "POST":
        form = CheckForm(request.POST)
        ok, result = run_service(form, lambda d: services.priority_check(actor=request.user, token=d["token"]),
                                 not_found=_("优先服务码无效"))
        if ok:
            form = CheckForm()
    else:
        form = CheckForm(initial={"token": request.GET.get("token", "")[:60]})
    return render(request, "points/check.html", {"form": form, "result": result, **_roles(request.user)})


class PickupForm(forms.Form):
    pickup_code = forms.CharField(label=gettext_lazy("领取码"), max_length=20,
                                  widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}))


@login_required
@staff_404
@require_http_methods(["GET", "POST"])
def pickup_page(request: HttpRequest) -> HttpResponse:
    _require(selectors.is_points_staff, request)
    done = None
    if request.method == "POST":
        form = PickupForm(request.POST)
        ok, done = run_service(form, lambda d: services.redemption_pickup(actor=request.user, pickup_code=d["pickup_code"]),
                               not_found=_("没有找到该领取码（或不属于您负责的区域）"))
        if ok:
            form = PickupForm()
    else:
        form = PickupForm(initial={"pickup_code": request.GET.get("code", "")[:20]})
    return render(request, "points/pickup.html", {"form": form, "done": done, **_roles(request.user)})


class DecisionForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("意见"), max_length=300, required=False)
    decision = forms.ChoiceField(choices=[("approve", gettext_lazy("通过")), ("reject", gettext_lazy("驳回"))])


def _who(resident: Any) -> str:
    """A resident as staff pages show them: masked name and household address."""
    return f"{mask_name(resident.name)} · {resident.household.address}"


@login_required
@staff_404
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not (selectors.is_points_staff(user) or selectors.is_clerk(user) or selectors.is_committee(user)):
        raise Http404(_("未找到该页面"))
    context = {
        **_roles(user),
        "awards": [(a, _who(a.resident)) for a in selectors.pending_awards_for(user)] if selectors.is_committee(user) else [],
        "appeals": ([(ap, _who(ap.entry.account.resident)) for ap in selectors.appeals_pending_for(user)]
                    if selectors.is_points_staff(user) else []),
    }
    return render(request, "points/home.html", context)


def _run_and_flash(request: HttpRequest, form: forms.Form, call: Callable[[dict[str, Any]], Any], *,
                   not_found: str, done: str) -> bool:
    """A staff decision posted from a list (approve an award, decide an appeal, confirm hours): run the
    service and say how it went in a message, since the page redirects back to the list either way."""
    ok, _result = run_service(form, call, not_found=not_found)
    if ok:
        messages.success(request, done)
    else:
        messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
    return ok


@login_required
@staff_404
@require_POST
def award_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _require(selectors.is_committee, request)
    award = selectors.pending_award_get(actor=request.user, award_id=pk)
    _run_and_flash(request, DecisionForm(request.POST),
                   lambda d: services.award_decide(award=award, actor=request.user,
                                                   approve=d["decision"] == "approve", note=d["note"]),
                   not_found=_("未找到该奖励"), done=_("已审核"))
    return redirect("points:home")


class AppealDecisionForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("复核意见"), max_length=300)
    decision = forms.ChoiceField(choices=[("reverse", gettext_lazy("撤销扣分")), ("uphold", gettext_lazy("维持扣分"))])


@login_required
@staff_404
@require_POST
def appeal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _require(selectors.is_points_staff, request)
    appeal = selectors.appeal_get(actor=request.user, appeal_id=pk)
    _run_and_flash(request, AppealDecisionForm(request.POST),
                   lambda d: services.appeal_decide(appeal=appeal, actor=request.user,
                                                    reverse=d["decision"] == "reverse", note=d["note"]),
                   not_found=_("未找到该申诉"), done=_("已复核"))
    return redirect("points:home")


class StaffAwardForm(ChoicesForm):
    resident = forms.ChoiceField(label=gettext_lazy("居民"))
    rule_code = forms.ChoiceField(label=gettext_lazy("规则"))
    cause_label = forms.CharField(label=gettext_lazy("事由"), max_length=200)
    cause_key = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        residents = selectors.residents_visible_to(actor).order_by("household__address", "pk")[:300]
        self._choices("resident", [(r.pk, f"{mask_name(r.name)} · {r.household.address}") for r in residents])
        self._choices("rule_code", [(r.code, f"{r.name}（{r.amount:+d} {r.get_kind_display()}）")
                                            for r in Rule.objects.filter(active=True, code__in=["commendation", "uncivil_act"])])


@login_required
@staff_404
@require_http_methods(["GET", "POST"])
def staff_award(request: HttpRequest) -> HttpResponse:
    """A commendation (见义勇为 …) or a deduction for a confirmed uncivil act; large awards go to the
    committee. ``cause_key`` is fixed when the form is drawn: a double submit pays once."""
    _require(selectors.is_points_staff, request)
    import secrets

    if request.method == "POST":
        form = StaffAwardForm(request.POST, actor=request.user)

        def call(d: dict[str, Any]) -> Any:
            resident = selectors.resident_for_staff(actor=request.user, resident_id=d["resident"])
            return services.points_award_by_staff(actor=request.user, resident=resident, rule_code=d["rule_code"],
                                                  cause_label=d["cause_label"],
                                                  cause_key=f"staff:{request.user.pk}:{d['cause_key'][:40]}")
        ok, entry = run_service(form, call, not_found=_("未找到该居民"))
        if ok:
            messages.success(request, _("已记入积分") if entry is not None else _("已提交积分监督委员会审核（或无需变动）"))
            return redirect("points:award")
    else:
        form = StaffAwardForm(actor=request.user, initial={"cause_key": secrets.token_hex(8)})
    return render(request, "points/award.html", {"form": form, **_roles(request.user)})


class ItemForm(ChoicesForm):
    area = forms.ChoiceField(label=gettext_lazy("区域"))
    name = forms.CharField(label=gettext_lazy("名称"), max_length=80)
    price = forms.IntegerField(label=gettext_lazy("所需物质积分"), min_value=1)
    stock = forms.IntegerField(label=gettext_lazy("库存"), min_value=0)
    pickup_place = forms.CharField(label=gettext_lazy("领取地点"), max_length=200, required=False)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("area", [(a.pk, a.name) for a in _staff_areas(actor)])


def _staff_areas(actor: Any) -> list[Any]:
    from tongxin.accounts.selectors import actor_scope
    from tongxin.regions.models import Area

    scope = actor_scope(actor)
    qs = Area.objects.defer("boundary").filter(level__in=["community", "grid", "town"]).order_by("path")
    if not scope.is_admin:
        q = selectors._area_filter(actor, selectors.POINTS_STAFF_ROLES, "path")
        qs = qs.filter(q) if q is not None else qs
    return list(qs[:300])


def _area_of(actor: Any, pk: Any) -> Any:
    for area in _staff_areas(actor):
        if str(area.pk) == str(pk):
            return area
    raise NotFound()


@login_required
@staff_404
@require_http_methods(["GET", "POST"])
def items_page(request: HttpRequest) -> HttpResponse:
    _require(selectors.is_points_staff, request)
    form = ItemForm(request.POST or None, actor=request.user)
    if request.method == "POST":
        ok, _item = run_service(form, lambda d: services.item_create(
            actor=request.user, area=_area_of(request.user, d["area"]), name=d["name"], price=d["price"],
            stock=d["stock"], pickup_place=d["pickup_place"]), not_found=_("未找到该区域"))
        if ok:
            messages.success(request, _("商品已上架"))
            return redirect("points:items")
    items = selectors.items_visible_to(request.user).order_by("area__path", "price")[:200]
    return render(request, "points/items.html", {"form": form, "items": items, **_roles(request.user)})


class ActivityForm(ChoicesForm):
    area = forms.ChoiceField(label=gettext_lazy("区域"))
    title = forms.CharField(label=gettext_lazy("活动名称"), max_length=120)
    location = forms.CharField(label=gettext_lazy("地点"), max_length=200)
    lat = forms.FloatField(label=gettext_lazy("纬度（WGS-84）"))
    lng = forms.FloatField(label=gettext_lazy("经度（WGS-84）"))
    radius_m = forms.IntegerField(label=gettext_lazy("签到半径（米）"), initial=200)
    capacity = forms.IntegerField(label=gettext_lazy("名额"), min_value=1)
    starts_at = forms.DateTimeField(label=gettext_lazy("开始时间"),
                                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label=gettext_lazy("结束时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("area", [(a.pk, a.name) for a in _staff_areas(actor)])


@login_required
@staff_404
@require_http_methods(["GET", "POST"])
def activities_page(request: HttpRequest) -> HttpResponse:
    _require(selectors.is_points_staff, request)
    form = ActivityForm(request.POST or None, actor=request.user)
    if request.method == "POST":
        ok, activity = run_service(form, lambda d: services.activity_create(
            actor=request.user, area=_area_of(request.user, d["area"]), title=d["title"], location=d["location"],
            lat=d["lat"], lng=d["lng"], radius_m=d["radius_m"], capacity=d["capacity"], starts_at=d["starts_at"],
            ends_at=d["ends_at"]), not_found=_("未找到该区域"))
        if ok:
            return redirect("points:activity", pk=activity.pk)
    activities = selectors.activities_visible_to(request.user).order_by("-starts_at")[:100]
    return render(request, "points/activities.html", {"form": form, "activities": activities, **_roles(request.user)})


@login_required
@staff_404
def activity_page(request: HttpRequest, pk: int) -> HttpResponse:
    _require(selectors.is_points_staff, request)
    try:
        activity = selectors.activity_get(actor=request.user, activity_id=pk)
    except NotFound:
        raise Http404(_("未找到该活动")) from None
    url = request.build_absolute_uri(reverse("points_r:scan", args=[services.activity_token(activity)]))
    rows = [{"signup": s, "name": mask_name(s.resident.name)} for s in selectors.activity_signups(activity)]
    return render(request, "points/activity.html", {"activity": activity, "rows": rows, "qr": qr_svg(url),
                                                    "scan_url": url, **_roles(request.user)})


class HoursForm(forms.Form):
    hours = forms.DecimalField(label=gettext_lazy("确认时长（小时）"), max_digits=4, decimal_places=1)


@login_required
@staff_404
@require_POST
def signup_confirm(request: HttpRequest, pk: int, signup_pk: int) -> HttpResponse:
    _require(selectors.is_points_staff, request)
    try:
        activity = selectors.activity_get(actor=request.user, activity_id=pk)
    except NotFound:
        raise Http404(_("未找到该活动")) from None
    signup = activity.signups.filter(pk=signup_pk).first()
    if signup is None:
        raise Http404(_("未找到该报名"))
    _run_and_flash(request, HoursForm(request.POST),
                   lambda d: services.signup_confirm_hours(actor=request.user, signup=signup, hours=d["hours"]),
                   not_found=_("未找到该活动"), done=_("时长已确认，积分已发放"))
    return redirect("points:activity", pk=activity.pk)


# --- residents ----------------------------------------------------------------------------------------

def resident_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The household-code session with a resident (a merchant's session has no points of its own)."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session = session_read(request)
        if session is None or session.resident is None:
            response = render(request, "residents/need_login.html", status=401)
        else:
            request.resident = session  # type: ignore[attr-defined]
            try:
                response = view(request, session.resident, *args, **kwargs)
            except (NotFound, Http404):
                response = render(request, "residents/not_found.html", {"session": session}, status=404)
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper


def _r(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    context.setdefault("session", request.resident)  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


@resident_required
def r_home(request: HttpRequest, resident: Any) -> HttpResponse:
    balances = selectors.balances_of(resident)
    tier = selectors.tier_for(balances.virtue)
    next_tier = next((t for t in selectors.tiers() if t.min_points > balances.virtue), None)
    return _r(request, "points/r_home.html", {"balances": balances, "tier": tier, "next_tier": next_tier,
                                              "entries": selectors.entries_of(resident, limit=20),
                                              "kinds": dict(PointKind.choices)})


@resident_required
def r_mall(request: HttpRequest, resident: Any) -> HttpResponse:
    return _r(request, "points/r_mall.html", {"items": selectors.items_for_resident(resident),
                                              "balances": selectors.balances_of(resident),
                                              "redemptions": selectors.redemptions_of(resident, limit=20)})


@resident_required
@require_POST
def r_redeem(request: HttpRequest, resident: Any, pk: int) -> HttpResponse:
    try:
        redemption = services.redemption_create(resident=resident, item_id=pk)
    except NotFound:
        raise
    except ApplicationError as error:
        messages.error(request, "；".join(str(v) for v in error.fields.values()) or error.message)
        return redirect("points_r:mall")
    return redirect("points_r:redemption", pk=redemption.pk)


@resident_required
def r_redemption(request: HttpRequest, resident: Any, pk: int) -> HttpResponse:
    redemption = selectors.redemption_of(resident, pk)
    pending = redemption.status == RedemptionStatus.PENDING
    return _r(request, "points/r_redemption.html", {
        "redemption": redemption, "pending": pending,
        "qr": qr_svg(redemption.pickup_code) if pending else "",
        "code_display": f"{redemption.pickup_code[:4]} {redemption.pickup_code[4:]}"})


@resident_required
@require_POST
def r_redemption_cancel(request: HttpRequest, resident: Any, pk: int) -> HttpResponse:
    try:
        services.redemption_cancel(resident=resident, redemption_id=pk)
        messages.success(request, _("已取消兑换，积分已退回"))
    except NotFound:
        raise
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("points_r:redemption", pk=pk)


@resident_required
def r_card(request: HttpRequest, resident: Any) -> HttpResponse:
    """The priority code: a QR (the clerk page's URL with the code) and the code in text; the page
    renews itself before the code expires."""
    token = services.priority_token_make(resident=resident)
    url = request.build_absolute_uri(reverse("points:check")) + "?token=" + token
    balances = selectors.balances_of(resident)
    return _r(request, "points/r_card.html", {"token": token, "qr": qr_svg(url), "tier": selectors.tier_for(balances.virtue),
                                              "refresh": services.PRIORITY_MAX_AGE - 60})


@resident_required
@require_http_methods(["GET", "POST"])
def r_appeal(request: HttpRequest, resident: Any, entry_pk: int) -> HttpResponse:
    entry = next((e for e in selectors.entries_of(resident, limit=500) if e.pk == entry_pk), None)
    if entry is None or entry.amount >= 0:
        raise NotFound()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            services.appeal_file(resident=resident, entry_id=entry_pk, reason=request.POST.get("reason", ""))
            messages.success(request, _("申诉已提交，工作人员复核后会更新结果"))
            return redirect("points_r:home")
        except NotFound:
            raise
        except ApplicationError as error:
            errors = {k: str(v) for k, v in error.fields.items()} or {"form": error.message}
    return _r(request, "points/r_appeal.html", {"entry": entry, "errors": errors,
                                                "reason": request.POST.get("reason", "")})


@resident_required
def r_volunteer(request: HttpRequest, resident: Any) -> HttpResponse:
    mine = selectors.signups_of(resident)
    rows = [(a, mine.get(a.pk)) for a in selectors.activities_for_resident(resident)]
    return _r(request, "points/r_volunteer.html", {"rows": rows})


@resident_required
@require_POST
def r_signup(request: HttpRequest, resident: Any, pk: int) -> HttpResponse:
    activity = next((a for a in selectors.activities_for_resident(resident) if a.pk == pk), None)
    if activity is None:
        raise NotFound()
    try:
        services.signup_create(resident=resident, activity=activity)
        messages.success(request, _("报名成功"))
    except NotFound:
        raise
    except ApplicationError as error:
        messages.error(request, "；".join(str(v) for v in error.fields.values()) or error.message)
    return redirect("points_r:volunteer")


@resident_required
@require_POST
def r_signup_cancel(request: HttpRequest, resident: Any, pk: int) -> HttpResponse:
    try:
        services.signup_cancel(resident=resident, activity_id=pk)
        messages.success(request, _("已取消报名"))
    except NotFound:
        raise
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("points_r:volunteer")


@resident_required
@require_http_methods(["GET", "POST"])
def r_scan(request: HttpRequest, resident: Any, token: str) -> HttpResponse:
    """The activity's on-site code: check in, later check out, with the phone's position."""
    activity = services.activity_from_token(token)
    signup = selectors.signups_of(resident).get(activity.pk)
    error = ""
    if request.method == "POST":
        try:
            signup = services.signup_scan(resident=resident, token=token, lat=request.POST.get("lat"),
                                          lng=request.POST.get("lng"))
            messages.success(request, _("签到成功") if signup.status == SignupStatus.CHECKED_IN else _("签退成功"))
            return redirect("points_r:scan", token=token)
        except NotFound:
            raise
        except ApplicationError as exc:
            error = "；".join(str(v) for v in exc.fields.values()) or exc.message
    return _r(request, "points/r_scan.html", {"activity": activity, "signup": signup, "error": error,
                                              "now": timezone.now()}, status=422 if error else 200)
