"""The mediation pages: the case list (filters incl. the four targets, and the search by POST), intake (and conversion from a work
order), the case page (facts, parties masked, timeline, one form per action the actor may take) and the
numbers page. Views stay thin: parse a form, call one service or selector, render."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongxin.accounts.selectors import actor_scope
from tongxin.core import fieldcrypt
from tongxin.core.errors import ApplicationError, NotFound, ValidationFailed
from tongxin.core.forms import run_service
from tongxin.core.masking import mask_id_number, mask_phone
from tongxin.regions.choices import AreaLevel
from tongxin.regions.models import Area
from tongxin.workorders.selectors import work_orders_visible_to

from . import forms as f
from . import selectors, services
from .api import case_actions_for
from .choices import Action, Status, Target
from .models import MediationOrg
from .personal import looks_like_resident_id
from .search import PHONE_LIKE_RE, case_search, search_term_clean
from .workflow import mediator_org_ids


def _require_reader(request: HttpRequest) -> None:
    if not selectors.can_read_mediation(request.user):
        raise Http404(_("您没有矛盾调解的查看权限"))


def _run(form: forms.Form, call: Callable[[dict[str, Any]], Any]) -> tuple[bool, Any]:
    """core.forms.run_service for cases: a case outside the jurisdiction is 404."""
    return run_service(form, call, not_found=str(_("未找到该案件")))


def _area_choices(user: Any) -> list[tuple[str, str]]:
    scope = actor_scope(user)
    qs = Area.objects.filter(level__in=[AreaLevel.CITY, AreaLevel.DISTRICT, AreaLevel.TOWN]).defer("boundary")
    if not scope.is_admin:
        paths = [p for role in selectors.READER_ROLES for p in scope.area_roles.get(role, ())]
        q = selectors._paths_q(paths, "path")
        qs = qs.filter(q) if q is not None else qs.none()
    return [("", _("全部辖区"))] + [(a.code, ("　" * max(a.depth, 0)) + a.name) for a in qs.order_by("path")]


def _area_path(code: str | None) -> str | None:
    if not code:
        return None
    area = Area.objects.filter(code=code).only("path").first()
    return area.path if area else "/nowhere/"


# --- the list and the search ---------------------------------------------------------------------
# The filters are a GET form (bookmarkable, nothing personal in them). The search term (a name, a phone,
# an ID number) never goes into a URL: the search box POSTs it (CSRF), the view seals it into the staff
# session under a random search id and redirects (303) to ``?search=<id>``; the results and their
# pagination carry only that id. A GET with ``?q=`` runs nothing: it redirects to the list without it.
# Why the session and not the POST body: docs/mediation.md, "Finding a case".

SEARCH_SESSION_KEY = "mediation_searches"
SEARCH_TTL_SECONDS = 2 * 3600
SEARCH_KEEP = 10  # searches remembered per session; older ones expire first
SEARCH_TERM_CONTEXT = "django_session.mediation_search"  # binds a sealed term to the session store
SEARCH_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
LIST_PARAMS = ("status", "level", "dispute_type", "target", "met", "overdue", "area_code", "date_from", "date_to")


class CaseSearchForm(forms.Form):
    """The search box. The rules (and their reasons) are search.search_term_clean's, as for the API: one wording."""

    # No maxlength attribute: a pasted longer term gets the reason instead of being cut silently. No
    # autocomplete: the browser would keep ID numbers in its form history.
    q = forms.CharField(
        label=gettext_lazy("搜索内容（当事人姓名、电话、身份证号或案件编号）"), required=False, strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "required": True}))

    def clean_q(self) -> str:
        try:
            return search_term_clean(self.cleaned_data.get("q"))
        except ValidationFailed as error:
            raise forms.ValidationError(str(error.fields["q"])) from None


def _searches(request: HttpRequest) -> dict[str, list[Any]]:
    """The session's searches {id: [sealed term, stored at (epoch seconds)]} still within the TTL."""
    now = time.time()
    stored = request.session.get(SEARCH_SESSION_KEY) or {}
    return {sid: entry for sid, entry in stored.items()
            if isinstance(entry, list) and len(entry) == 2 and now - float(entry[1]) < SEARCH_TTL_SECONDS}


def _search_store(request: HttpRequest, term: str) -> str:
    searches = _searches(request)
    sid = secrets.token_urlsafe(18)
    searches[sid] = [fieldcrypt.encrypt(term, context=SEARCH_TERM_CONTEXT), time.time()]
    newest = sorted(searches.items(), key=lambda item: float(item[1][1]))[-SEARCH_KEEP:]
    request.session[SEARCH_SESSION_KEY] = dict(newest)
    return sid


def _search_term(request: HttpRequest, sid: str) -> str | None:
    """The term of one of this session's searches, or None (unknown, expired, another session's, or sealed
    under a key no longer configured)."""
    entry = _searches(request).get(sid) if SEARCH_ID_RE.match(sid) else None
    if entry is None:
        return None
    try:
        return fieldcrypt.decrypt(entry[0], context=SEARCH_TERM_CONTEXT)
    except fieldcrypt.DecryptionError:
        return None


def _search_label(term: str) -> str:
    """What the page says was searched: an ID number or a phone masked, as everywhere else."""
    if looks_like_resident_id(term):
        return _("身份证号 %(value)s") % {"value": mask_id_number(fieldcrypt.normalise(term))}
    if PHONE_LIKE_RE.match(term):
        return mask_phone(term.replace(" ", ""))
    return term


def _list_url(params: list[tuple[str, str]]) -> str:
    query = urlencode(params)
    return reverse("mediation:list") + (f"?{query}" if query else "")


@login_required
@require_http_methods(["GET", "POST"])
def case_list(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    search_form = CaseSearchForm()
    status = 200
    if request.method == "POST":
        search_form = CaseSearchForm(request.POST)
        if search_form.is_valid():
            sid = _search_store(request, search_form.cleaned_data["q"])
            return HttpResponseRedirect(_list_url([("search", sid)]), status=303)
        # Show the reason, not the term: the errors are computed, so emptying the data only blanks the box.
        search_form.data = {"q": ""}
        status = 422
    kept = [(k, str(v)) for k, v in request.GET.items() if k in (*LIST_PARAMS, "search") and v]
    if "q" in request.GET:  # an old link or a hand-typed URL: never search by it, and drop it from the address
        messages.info(request, _("为保护个人信息，搜索内容不再放在网址中：请在“搜索内容”框中输入后点“搜索”。"))
        return redirect(_list_url(kept))
    sid = request.GET.get("search", "")
    term = _search_term(request, sid) if sid else None
    if sid and term is None:
        messages.info(request, _("这次搜索已过期，请重新输入搜索内容。"))
        return redirect(_list_url([(k, v) for k, v in kept if k != "search"]))
    form = f.CaseFilterForm(request.GET or None)
    form.fields["area_code"] = forms.ChoiceField(label=_("区域"), required=False, choices=_area_choices(request.user))
    d = form.cleaned_data if form.is_bound and form.is_valid() else {}
    filters = selectors.CaseFilters(
        status=d.get("status") or None, level=d.get("level") or None, dispute_type=d.get("dispute_type") or None,
        area_path=_area_path(d.get("area_code")), date_from=d.get("date_from"), date_to=d.get("date_to"),
        target=d.get("target") or None, met={"yes": True, "no": False}.get(d.get("met") or ""),
        follow_up_overdue=bool(d.get("overdue")),
    )
    cases = (case_search(actor=request.user, term=term, filters=filters) if term is not None
             else selectors.case_list(actor=request.user, filters=filters))
    page = Paginator(cases, 30).get_page(request.GET.get("page"))
    query = urlencode(kept)  # only the filters and the search id: never a term
    response = render(request, "mediation/case_list.html", {
        "nav": "mediation", "form": form, "search_form": search_form, "search_id": sid if term is not None else "",
        "search_label": _search_label(term) if term is not None else "", "page_obj": page,
        "query": query + "&" if query else "", "now": timezone.now(),
        "can_receive": bool(mediator_org_ids(request.user)),
    }, status=status)
    if term is not None:
        response["Cache-Control"] = "no-store"  # results of a search for a person: not kept on a shared PC
    return response


# --- intake ------------------------------------------------------------------------------------

def _my_orgs(user: Any) -> list[MediationOrg]:
    return list(MediationOrg.objects.filter(pk__in=mediator_org_ids(user), active=True).order_by("area_path"))


PLACE_CHOICES_MAX = 500


def _place_choices(orgs: list[MediationOrg]) -> list[tuple[str, str]]:
    """The places a case may be received for: the areas (down to communities) inside the actor's organisations."""
    q = selectors._paths_q([o.area_path for o in orgs], "path")
    if q is None:
        return [("", "—")]
    areas = (Area.objects.filter(q, level__in=[AreaLevel.CITY, AreaLevel.DISTRICT, AreaLevel.TOWN, AreaLevel.COMMUNITY])
             .defer("boundary").order_by("path")[:PLACE_CHOICES_MAX])
    return [("", _("受理组织辖区"))] + [(a.code, ("　" * a.depth) + a.name) for a in areas]


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    orgs = _my_orgs(request.user)
    can_convert = bool(actor_scope(request.user).roles & {"operator", "dispatcher", "supervisor"})
    if not orgs and not can_convert:
        raise Http404(_("您不是调解员"))
    form = f.CaseForm(orgs=orgs)
    place_choices = _place_choices(orgs)
    form.fields["area_code"] = forms.ChoiceField(label=_("纠纷发生地（留空为受理组织辖区）"), required=False,
                                                 choices=place_choices)
    convert = f.FromWorkOrderForm()
    if request.method == "POST" and request.POST.get("do") == "convert":
        convert = f.FromWorkOrderForm(request.POST)

        def _convert(d: dict[str, Any]) -> Any:
            order = work_orders_visible_to(request.user).filter(number=d["number"].strip()).first()
            if order is None:
                raise ValidationFailed(fields={"number": _("未找到该工单（或不在您的辖区）")})
            return services.case_from_work_order(actor=request.user, order_id=order.pk, org_id=d["org_id"],
                                                 dispute_type=d["dispute_type"], note=d["note"])

        ok, case = _run(convert, _convert)
        if ok:
            messages.success(request, _("工单已转为矛盾纠纷案件 %(number)s") % {"number": case.number})
            if selectors.case_get(actor=request.user, case_id=case.pk) is not None:
                return redirect("mediation:case", pk=case.pk)
            return redirect("mediation:new")
    elif request.method == "POST":
        form = f.CaseForm(request.POST, orgs=orgs)
        form.fields["area_code"] = forms.ChoiceField(label=_("纠纷发生地（留空为受理组织辖区）"), required=False,
                                                     choices=place_choices)

        def _create(d: dict[str, Any]) -> Any:
            return services.case_create(
                actor=request.user, org_id=d["org_id"], title=d["title"], description=d["description"],
                dispute_type=d["dispute_type"], source=d["source"], parties=form.parties(),
                area_code=d["area_code"] or None, address=d["address"], amount=d["amount"],
                people_count=d["people_count"], risk_violence=d["risk_violence"], risk_group=d["risk_group"],
                risk_petition=d["risk_petition"], note=d["note"])

        ok, case = _run(form, _create)
        if ok:
            messages.success(request, _("已受理案件 %(number)s") % {"number": case.number})
            return redirect("mediation:case", pk=case.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "mediation/case_new.html", {
        "nav": "mediation", "form": form, "convert": convert, "orgs": orgs, "can_convert": can_convert,
    }, status=status)


# --- the case page ------------------------------------------------------------------------------

def _agree(request: HttpRequest, case: Any, d: dict[str, Any]) -> Any:
    return services.case_agree(case_id=case.pk, actor=request.user, text=d["text"], scan=d.get("scan"),
                               follow_up_days=d["follow_up_days"], version=d["version"])


def _session(kind: str) -> Callable[[HttpRequest, Any, dict[str, Any]], Any]:
    def call(request: HttpRequest, case: Any, d: dict[str, Any]) -> Any:
        return services.case_session_record(case_id=case.pk, actor=request.user, kind=kind, at=d["at"], place=d["place"],
                                            attendees=d["attendees"], notes=d["notes"], mediator_ids=d["mediator_ids"],
                                            version=d["version"])
    return call


ACTIONS: dict[str, tuple[type[f.VersionForm], Callable[[HttpRequest, Any, dict[str, Any]], Any]]] = {
    Action.MEDIATE: (f.NoteForm, lambda r, c, d: services.case_mediate(case_id=c.pk, actor=r.user, note=d["note"],
                                                                        version=d["version"])),
    Action.ROUTE: (f.HandoverForm, lambda r, c, d: services.case_route(case_id=c.pk, actor=r.user,
                                                                        to_org_id=d["to_org_id"], reason=d["reason"],
                                                                        version=d["version"])),
    Action.ESCALATE: (f.EscalateForm, lambda r, c, d: services.case_escalate(case_id=c.pk, actor=r.user,
                                                                             to_org_id=d["to_org_id"],
                                                                             reason=d["reason"], version=d["version"])),
    Action.ACCEPT_HANDOVER: (f.NoteForm, lambda r, c, d: services.case_handover_accept(
        case_id=c.pk, actor=r.user, note=d["note"], version=d["version"])),
    Action.REJECT_HANDOVER: (f.RequiredNoteForm, lambda r, c, d: services.case_handover_reject(
        case_id=c.pk, actor=r.user, note=d["note"], version=d["version"])),
    Action.START_JOINT: (f.JointForm, lambda r, c, d: services.case_joint_start(
        case_id=c.pk, actor=r.user, leader_id=d["leader_id"], note=d["note"], version=d["version"])),
    Action.SESSION: (f.SessionForm, _session("session")),
    Action.JOINT_MEETING: (f.SessionForm, _session("joint_meeting")),
    Action.JOINT_VISIT: (f.SessionForm, _session("joint_visit")),
    Action.AGREE: (f.AgreeForm, _agree),
    Action.CONFIRM: (f.ConfirmForm, lambda r, c, d: services.case_confirm(
        case_id=c.pk, actor=r.user, court=d["court"], number=d["number"], version=d["version"])),
    Action.FAIL: (f.FailForm, lambda r, c, d: services.case_fail(
        case_id=c.pk, actor=r.user, guidance=d["guidance"], note=d["note"], version=d["version"])),
    Action.FOLLOW_UP: (f.FollowUpForm, lambda r, c, d: services.case_follow_up(
        case_id=c.pk, actor=r.user, note=d["note"], stable=d["stable"], version=d["version"])),
    Action.CLOSE: (f.NoteForm, lambda r, c, d: services.case_close(case_id=c.pk, actor=r.user, note=d["note"],
                                                                    version=d["version"])),
    Action.REOPEN: (f.RequiredNoteForm, lambda r, c, d: services.case_reopen(
        case_id=c.pk, actor=r.user, note=d["note"], version=d["version"])),
    Action.WITHDRAW: (f.RequiredNoteForm, lambda r, c, d: services.case_withdraw(
        case_id=c.pk, actor=r.user, note=d["note"], version=d["version"])),
    Action.RAISE_WORK_ORDER: (f.RaiseWorkOrderForm, lambda r, c, d: services.case_raise_work_order(
        case_id=c.pk, actor=r.user, content=d["content"], version=d["version"])),
}


def _action_label(action: str) -> str:
    try:
        return str(Action(action).label)
    except ValueError:
        return action


def _case_or_404(request: HttpRequest, pk: int) -> Any:
    _require_reader(request)
    case = selectors.case_get(actor=request.user, case_id=pk)
    if case is None:
        raise Http404(_("未找到该案件"))
    return case


def _render_case(request: HttpRequest, case: Any, *, bound: dict[str, forms.Form] | None = None,
                 revealed: Any = None, status: int = 200) -> HttpResponse:
    bound = bound or {}
    allowed = case_actions_for(case, request.user)
    action_forms = []
    for action in allowed:
        form_class, _call = ACTIONS[action]
        form = bound.get(action) or form_class(case=case, prefix=action, initial={"version": case.version})
        action_forms.append({"action": action, "label": Action(action).label, "form": form,
                             "open": action in bound, "multipart": action == Action.AGREE})
    shown = revealed.pk if revealed is not None else None
    parties = [{"p": p, "phone": revealed.phone if shown == p.pk else p.phone_masked,
                "id_number": revealed.id_number if shown == p.pk else p.id_masked,
                "revealed": shown == p.pk} for p in case.parties.all()]
    events = [{"e": event, "action_label": _action_label(event.action),
               "status_label": Status(event.to_status).label if event.to_status != event.from_status else ""}
              for event in selectors.case_timeline(case)]
    return render(request, "mediation/case.html", {
        "nav": "mediation", "case": case, "parties": parties, "timeline": events, "action_forms": action_forms,
        "pending": selectors.case_pending_handover(case),
        "experts": selectors.mediator_search(speciality=case.dispute_type, experts_only=True, limit=5), "sessions": case.sessions.prefetch_related("mediators"),
        "follow_ups": case.follow_ups.select_related("by"), "links": case.work_order_links.select_related("work_order"),
        "can_reveal": actor_scope(request.user).area_role_covers({"mediator"}, case.area_path) is not None,
        "overdue": case.status == Status.AGREED and case.next_follow_up_at and case.next_follow_up_at < timezone.now(),
    }, status=status)


@login_required
@require_GET
def case_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_case(request, _case_or_404(request, pk))


@login_required
@require_POST
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    case = _case_or_404(request, pk)
    if action not in ACTIONS:
        raise Http404(_("未知操作"))
    form_class, call = ACTIONS[action]
    form = form_class(request.POST, request.FILES, case=case, prefix=action)
    ok, _result = _run(form, lambda d: call(request, case, d))
    if ok:
        messages.success(request, _("已完成：%(label)s") % {"label": Action(action).label})
        return redirect("mediation:case", pk=case.pk)
    return _render_case(request, _case_or_404(request, pk), bound={action: form}, status=422)


@login_required
@require_POST
def party_reveal(request: HttpRequest, pk: int, party_pk: int) -> HttpResponse:
    case = _case_or_404(request, pk)
    try:
        party = services.party_reveal(actor=request.user, case_id=case.pk, party_id=party_pk)
    except NotFound:
        raise Http404(_("未找到该当事人")) from None
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("mediation:case", pk=case.pk)
    response = _render_case(request, case, revealed=party)
    response["Cache-Control"] = "no-store"
    return response


# --- numbers ------------------------------------------------------------------------------------

@login_required
@require_GET
def numbers_page(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    form = f.NumbersFilterForm(request.GET or None)
    form.fields["area_code"] = forms.ChoiceField(label=_("区域"), required=False, choices=_area_choices(request.user))
    d = form.cleaned_data if form.is_bound and form.is_valid() else {}
    today = timezone.localdate()
    date_from, date_to = d.get("date_from") or date(today.year, 1, 1), d.get("date_to") or today
    path = _area_path(d.get("area_code"))
    total = selectors.mediation_numbers(actor=request.user, area_path=path, date_from=date_from, date_to=date_to)
    rows = selectors.numbers_by_level(actor=request.user, area_path=path, date_from=date_from, date_to=date_to)
    areas = selectors.numbers_by_area(actor=request.user, area_path=path, date_from=date_from, date_to=date_to)
    base = urlencode([(k, v) for k, v in {"area_code": d.get("area_code") or "", "date_from": date_from.isoformat(),
                                           "date_to": date_to.isoformat()}.items() if v])
    return render(request, "mediation/numbers.html", {
        "nav": "mediation", "form": form, "total": total, "rows": rows, "areas": areas, "date_from": date_from, "date_to": date_to,
        "base": base, "targets": list(Target),
    })
