"""The pages of consultations. Staff (/participation/): the list, a draft's form, the topic page with
its results, open/close, the .xlsx tally. Resident (/r/topics/): my topics, the ballot, my receipt,
the results when published. Views stay thin: parse, call one service or selector, render."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongxin.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from tongxin.core.forms import run_service
from tongxin.residents.session import session_read

from . import selectors, services
from .choices import Status
from .export import tally_workbook
from .forms import TopicForm


def _require_reader(request: HttpRequest) -> None:
    if not selectors.can_read(request.user):
        raise Http404(_("您没有码上协商的查看权限"))


def _topic_or_404(request: HttpRequest, pk: int) -> Any:
    _require_reader(request)
    try:
        return selectors.topic_get(actor=request.user, pk=pk)
    except NotFound:
        raise Http404(_("未找到该议题")) from None


@login_required
@require_GET
def topic_list(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    status = request.GET.get("status", "")
    status = status if status in Status.values else ""
    return render(request, "participation/topic_list.html", {
        "nav": "participation", "topics": selectors.topic_list(actor=request.user, status=status), "status": status,
        "statuses": Status.choices, "can_write": selectors.can_write_somewhere(request.user), "now": timezone.now(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def topic_new(request: HttpRequest) -> HttpResponse:
    if not selectors.can_write_somewhere(request.user):
        raise Http404(_("只有网格员和管理员可以发起协商议题"))
    form = TopicForm(request.POST or None, actor=request.user)
    if request.method == "POST":
        ok, topic = run_service(form, lambda d: services.topic_create(actor=request.user, data=form.topic_input()),
                                not_found=_("未找到该议题"))
        if ok:
            messages.success(request, _("议题草稿已保存，核对无误后请发布"))
            return redirect("participation:topic", pk=topic.pk)
    return render(request, "participation/topic_form.html", {"nav": "participation", "form": form, "topic": None},
                  status=422 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def topic_edit(request: HttpRequest, pk: int) -> HttpResponse:
    topic = _topic_or_404(request, pk)
    if not selectors.can_write_area(request.user, topic.area_path) or topic.status != Status.DRAFT:
        raise Http404(_("该议题不能修改"))
    form = TopicForm(request.POST or None, actor=request.user, initial=TopicForm.initial_from(topic))
    if request.method == "POST":
        ok, _topic = run_service(form, lambda d: services.topic_update(actor=request.user, topic_id=topic.pk,
                                                                        data=form.topic_input()),
                                 not_found=_("未找到该议题"))
        if ok:
            messages.success(request, _("议题已修改"))
            return redirect("participation:topic", pk=topic.pk)
    return render(request, "participation/topic_form.html", {"nav": "participation", "form": form, "topic": topic},
                  status=422 if request.method == "POST" else 200)


@login_required
@require_GET
def topic_page(request: HttpRequest, pk: int) -> HttpResponse:
    topic = _topic_or_404(request, pk)
    results = selectors.topic_results(topic=topic) if topic.status != Status.DRAFT else None
    return render(request, "participation/topic.html", {
        "nav": "participation", "topic": topic, "results": results, "options": list(topic.options.all()),
        "can_write": selectors.can_write_area(request.user, topic.area_path), "accepting": topic.accepting(),
        "ended": topic.ended(),
    })


@login_required
@require_POST
def topic_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    topic = _topic_or_404(request, pk)
    calls: dict[str, Callable[[], Any]] = {
        "open": lambda: services.topic_open(actor=request.user, topic_id=topic.pk),
        "close": lambda: services.topic_close(actor=request.user, topic_id=topic.pk),
    }
    if action not in calls:
        raise Http404(_("没有这个操作"))
    try:
        calls[action]()
    except NotFound:
        raise Http404(_("未找到该议题")) from None
    except ValidationFailed as error:
        for message in error.fields.values() or [error.message]:
            messages.error(request, message)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("议题已发布，居民现在可以投票") if action == "open" else _("投票已结束"))
    return redirect("participation:topic", pk=topic.pk)


@login_required
@require_GET
def topic_export(request: HttpRequest, pk: int) -> HttpResponse:
    topic = _topic_or_404(request, pk)
    if topic.status == Status.DRAFT:
        raise Http404(_("草稿没有计票结果"))
    data = tally_workbook(topic, selectors.topic_results(topic=topic))
    services.tally_export_record(actor=request.user, topic=topic)
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="topic-{topic.pk}-tally.xlsx"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- the resident ----------------------------------------------------------------------------------

def _resident_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A signed-in resident of a household (a merchant's contact has no vote)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session = session_read(request)
        if session is None or session.resident is None:
            response = render(request, "residents/need_login.html", status=401)
        else:
            response = view(request, session, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper


def _resident_not_found(request: HttpRequest, session: Any) -> HttpResponse:
    return render(request, "residents/not_found.html", {"session": session}, status=404)


@_resident_required
@require_GET
def resident_list(request: HttpRequest, session: Any) -> HttpResponse:
    resident = session.resident
    topics = selectors.resident_topics(household_id=resident.household_id, resident_id=resident.pk)
    now = timezone.now()
    return render(request, "participation/resident_list.html", {
        "session": session, "tab": "topics", "now": now,
        "open_topics": [t for t in topics if t.accepting(now) or (t.status == Status.OPEN and now < t.opens_at)],
        "ended_topics": [t for t in topics if t.ended(now)],
    })


@_resident_required
@require_http_methods(["GET", "POST"])
def resident_topic(request: HttpRequest, session: Any, pk: int) -> HttpResponse:
    resident = session.resident
    try:
        topic, elector = selectors.resident_topic_get(pk=pk, household_id=resident.household_id, resident_id=resident.pk)
    except NotFound:
        return _resident_not_found(request, session)
    error, status = "", 200
    chosen = [str(x) for x in request.POST.getlist("options")]
    if request.method == "POST":
        try:
            cast = services.topic_vote_cast(topic_id=topic.pk, resident=resident, option_ids=chosen)
        except NotFound:
            return _resident_not_found(request, session)
        except ValidationFailed as e:
            error, status = next(iter(e.fields.values()), e.message), 422
        except Conflict as e:
            error, status = e.message, 409
            if e.code == "vote_already_cast":
                services.vote_refusal_record(topic_id=topic.pk, resident=resident, reason=e.message)
        except ApplicationError as e:
            error, status = e.message, e.status
        else:
            # Post/redirect/get: a reload must not cast again. The choice is not carried over (a secret
            # ballot's choice is stored nowhere, not even in a message).
            done = "changed" if cast.changed else "cast"
            return redirect(f"{request.path}?done={done}{'&points=1' if cast.points_awarded else ''}")
        topic.refresh_from_db()
    receipt = selectors.receipt_get(topic=topic, elector=elector, resident_id=resident.pk)
    results = selectors.topic_results(topic=topic) if topic.results_public() else None
    owner_ok = selectors.may_cast(topic=topic, resident=resident)
    can_vote = topic.accepting() and owner_ok and (receipt is None or topic.allow_change)
    return render(request, "participation/resident_topic.html", {
        "session": session, "tab": "topics", "topic": topic, "options": list(topic.options.all()), "now": timezone.now(),
        "receipt": receipt, "results": results, "can_vote": can_vote, "owner_ok": owner_ok, "error": error,
        "done": request.GET.get("done") if receipt is not None and request.GET.get("done") in ("cast", "changed") else "",
        "points": request.GET.get("points") == "1",
        "chosen": chosen if error else ([] if receipt is None or receipt.option_labels is None else None),
        "chosen_labels": receipt.option_labels if receipt and receipt.option_labels else (),
    }, status=status)
