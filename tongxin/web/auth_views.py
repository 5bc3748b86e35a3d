"""The staff sign-in: password, then (when enrolled or required) the TOTP code; lockout on failures.

Steps: ``login`` checks the lock, then the password. Without a second factor the session starts at once.
With one, the user's id waits in the (anonymous) session for ``login_verify``, which asks for the code; a
role that must have one but has none goes to ``totp_setup`` first. Nothing is signed in until the last
step succeeds, and every wrong password or code counts toward the lock (tongxin/accounts/security.py).
"""

from __future__ import annotations

import time
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from tongxin.accounts import security
from tongxin.core import totp
from tongxin.core.errors import ApplicationError
from tongxin.core.ratelimit import client_ip

PENDING = "tx_login_pending"
PENDING_SECONDS = 300  # the code step must follow the password within five minutes


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


def _locked_message(until: Any) -> str:
    local = timezone.localtime(until)
    return _("登录失败次数过多，该账号或当前网络已被暂时锁定，请于 %(time)s 后再试；如忘记密码请联系管理员。") % {
        "time": local.strftime("%H:%M")}


def _pending_user(request: HttpRequest) -> Any | None:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    return get_user_model().objects.filter(pk=pending["user"], is_active=True).first()


def _finish(request: HttpRequest, user: Any, backend: str) -> HttpResponse:
    target = request.session.get(PENDING, {}).get("next") or _next(request)
    request.session.pop(PENDING, None)
    auth_login(request, user, backend=backend)  # rotates the session key (no fixation)
    security.login_success_record(user=user)
    return redirect(target)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    form = AuthenticationForm(request, data=request.POST or None)
    context: dict[str, Any] = {"form": form, "next": _next(request), "error": ""}
    if request.user.is_authenticated:
        if request.method == "GET" and request.GET.get("next"):
            # Sent here by a page this account may not open (the admin, for one who is not staff): saying so
            # instead of redirecting back avoids a redirect loop.
            context["error"] = _("您的账号无权访问该页面。可以换一个有权限的账号登录。")
            return render(request, "registration/staff_login.html", context, status=403)
        return redirect(_next(request))
    if request.method != "POST":
        return render(request, "registration/staff_login.html", context)
    username, ip = request.POST.get("username", ""), client_ip(request)
    until = security.login_locked_until(username=username, ip=ip)
    if until is not None:
        context["error"] = _locked_message(until)
        return render(request, "registration/staff_login.html", context, status=429)
    if not form.is_valid():
        until = security.login_failure_record(username=username, ip=ip, reason="password")
        context["error"] = _locked_message(until) if until else _("用户名或密码不正确，请重新输入。")
        return render(request, "registration/staff_login.html", context, status=429 if until else 200)
    user = form.get_user()
    backend = getattr(user, "backend", "django.contrib.auth.backends.ModelBackend")  # set by authenticate()
    if security.totp_enabled(user) or security.totp_required(user):
        request.session.cycle_key()
        request.session[PENDING] = {"user": user.pk, "at": time.time(), "next": _next(request), "backend": backend}
        return redirect("login_verify" if security.totp_enabled(user) else "totp_setup")
    return _finish(request, user, backend)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None or not security.totp_enabled(user):
        return redirect("login")
    context: dict[str, Any] = {"error": "", "user_label": user.get_username()}
    if request.method == "POST":
        ip = client_ip(request)
        until = security.login_locked_until(username=user.get_username(), ip=ip)
        if until is not None:
            request.session.pop(PENDING, None)
            context["error"] = _locked_message(until)
            return render(request, "registration/totp_verify.html", context, status=429)
        if security.totp_check(user=user, code=request.POST.get("code", "")):
            return _finish(request, user, request.session[PENDING]["backend"])
        until = security.login_failure_record(username=user.get_username(), ip=ip, reason="second_factor")
        if until is not None:
            request.session.pop(PENDING, None)
            context["error"] = _locked_message(until)
            return render(request, "registration/totp_verify.html", context, status=429)
        context["error"] = _("验证码不正确或已使用过，请输入验证器应用中当前显示的 6 位数字，或一个未用过的恢复码。")
    return render(request, "registration/totp_verify.html", context)


def _qr_svg(uri: str) -> str:
    # segno's SVG: no script, no external reference; inline so that the page needs no data: image.
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#1a1a1a", light="#ffffff")


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: signed in (by choice) or half-way through a sign-in (by obligation)."""
    user = request.user if request.user.is_authenticated else _pending_user(request)
    if user is None:
        return redirect(f"{settings.LOGIN_URL}?next={request.path}")
    context: dict[str, Any] = {"error": "", "codes": None, "enabled": security.totp_enabled(user),
                               "required": security.totp_required(user)}
    if context["enabled"]:
        return render(request, "registration/totp_setup.html", context)
    try:
        device = security.totp_enrol_begin(user=user)
    except ApplicationError as error:
        context["error"] = error.message
        return render(request, "registration/totp_setup.html", context, status=409)
    if request.method == "POST":
        try:
            context["codes"] = security.totp_enrol_confirm(user=user, code=request.POST.get("code", ""))
        except ApplicationError as error:
            context["error"] = next(iter(error.fields.values()), error.message)
        else:
            context["enabled"] = True
            if not request.user.is_authenticated:
                target = request.session[PENDING]["next"]
                backend = request.session[PENDING]["backend"]
                request.session.pop(PENDING, None)
                auth_login(request, user, backend=backend)
                security.login_success_record(user=user)
                context["next"] = target
            return render(request, "registration/totp_setup.html", context)
    uri = totp.provisioning_uri(device.secret, account=user.get_username(),
                                issuer=getattr(settings, "TONGXIN_TOTP_ISSUER", "tongxin"))
    context.update({"qr": mark_safe(_qr_svg(uri)),  # noqa: S308 - segno's own markup of our own URI
                    "secret": " ".join(device.secret[i:i + 4] for i in range(0, len(device.secret), 4))})
    return render(request, "registration/totp_setup.html", context)
