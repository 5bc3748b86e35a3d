"""通知: the signed-in user's own notifications, the unread badge the header polls, and marking read.
Reads through accounts.selectors, writes through accounts.services; nobody reaches another user's
notifications (their ids are ignored)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from tongxin.accounts.selectors import notification_list, notification_unread_count
from tongxin.accounts.services import notification_mark_read


@login_required
@require_GET
def notification_page(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    items = notification_list(user=request.user, unread_only=unread_only)
    return render(request, "web/notifications/list.html", {
        "nav": "notifications", "items": items, "unread_only": unread_only,
        "unread": sum(1 for n in items if n.read_at is None) if not unread_only else len(items),
    })


@login_required
@require_GET
def notification_badge(request: HttpRequest) -> HttpResponse:
    """The header's badge, polled by htmx every 30 s (outerHTML swap, so it keeps polling)."""
    response = render(request, "web/notifications/_badge.html", {
        "count": notification_unread_count(user=request.user), "poll": True,
    })
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    """Mark one (``id``), or all (no id) of the user's notifications read, then follow ``next`` (the
    notification's own page) if it is ours to follow."""
    user = request.user
    assert user.is_authenticated  # login_required; narrows User | AnonymousUser to User
    ids = request.POST.getlist("id")
    notification_mark_read(user=user, notification_ids=ids or None)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications")
