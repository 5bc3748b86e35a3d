"""One middleware for the security concerns that cut across every app (docs/security.md):

1. rate limits on the public doors (``tongxin.core.ratelimit``), answered before any view runs;
2. the Django admin's own login form is closed: /admin/login/ sends people to the staff login, which
   counts failures, locks out and asks for the second factor (tongxin/web/auth_views.py);
3. response headers: a Content-Security-Policy without 'unsafe-inline' or 'unsafe-eval', enforced on
   every path (report-only only where an operator asks: ``TONGXIN_CSP_REPORT_ONLY``,
   ``TONGXIN_CSP_REPORT_ONLY_PREFIXES``; none under ``TONGXIN_CSP_EXEMPT_PREFIXES``), a stricter policy
   with ``sandbox`` for uploaded files under /media/ (an uploaded SVG or HTML cannot run a script in our
   origin), and a Permissions-Policy.
   Django's SecurityMiddleware sets HSTS, nosniff, the referrer policy and COOP; XFrameOptions DENY.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _

from . import ratelimit

logger = logging.getLogger("tongxin.security")

DEFAULT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
               "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
               "frame-ancestors 'none'")
# Uploaded files: nothing may run, nothing may load, the document is sandboxed (no scripts, its own origin).
MEDIA_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
DEFAULT_PERMISSIONS_POLICY = "camera=(self), geolocation=(self), microphone=(), payment=(), usb=()"


def _too_many(request: HttpRequest, exceeded: ratelimit.Exceeded) -> HttpResponse:
    wait = exceeded.retry_after
    message = _("请求过于频繁，请 %(seconds)s 秒后再试") % {"seconds": wait}
    path = request.path
    response: HttpResponse
    if path.startswith("/api/"):
        response = JsonResponse({"code": "rate_limited", "message": message, "fields": {}}, status=429,
                                json_dumps_params={"ensure_ascii": False})
    elif path.startswith("/open311/"):
        # GeoReport v2's error shape: a list of {code, description}, in the format the path asks for.
        if path.endswith(".xml"):
            body = (f'<?xml version="1.0" encoding="utf-8"?><errors><error><code>429</code>'
                    f"<description>{escape(message)}</description></error></errors>")
            response = HttpResponse(body, status=429, content_type="text/xml; charset=utf-8")
        else:
            response = HttpResponse(json.dumps([{"code": 429, "description": message}], ensure_ascii=False),
                                    status=429, content_type="application/json; charset=utf-8")
    else:
        title = _("请求过于频繁")
        body = (f'<!doctype html><html lang="zh-hans"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
                f'</head><body><main><h1>{escape(title)}</h1><p>{escape(message)}</p>'
                f'<p><a href="/">{escape(_("返回首页"))}</a></p></main></body></html>')
        response = HttpResponse(body, status=429, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(wait)
    return response


def csp_header_name(path: str) -> str | None:
    """The header that carries the policy on ``path``: enforced by default; report-only where an operator
    trials a changed policy (the whole site, or some prefixes); none at all under an exempt prefix."""
    exempt = tuple(getattr(settings, "TONGXIN_CSP_EXEMPT_PREFIXES", ()))
    if exempt and path.startswith(exempt):
        return None
    report_only = tuple(getattr(settings, "TONGXIN_CSP_REPORT_ONLY_PREFIXES", ()))
    if getattr(settings, "TONGXIN_CSP_REPORT_ONLY", False) or (report_only and path.startswith(report_only)):
        return "Content-Security-Policy-Report-Only"
    return "Content-Security-Policy"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        exceeded = ratelimit.check(request)
        if exceeded is not None:
            logger.warning("rate limit %s exceeded from %s on %s %s", exceeded.rule.name,
                           ratelimit.client_ip(request), request.method, request.path)
            response = _too_many(request, exceeded)
        elif request.path == "/admin/login/":
            target = request.GET.get("next") or "/admin/"
            response = HttpResponseRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': target})}")
        else:
            response = self.get_response(request)
        self.add_headers(request, response)
        return response

    @staticmethod
    def add_headers(request: HttpRequest, response: HttpResponse) -> None:
        path = request.path
        media_url = getattr(settings, "MEDIA_URL", "/media/") or "/media/"
        if path.startswith(media_url):
            response["Content-Security-Policy"] = MEDIA_CSP
            response.setdefault("X-Content-Type-Options", "nosniff")
            response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        else:
            policy = getattr(settings, "TONGXIN_CSP", DEFAULT_CSP)
            header = csp_header_name(path)
            # A view that sets its own policy keeps it.
            if policy and header and "Content-Security-Policy" not in response:
                response.setdefault(header, policy)
        permissions = getattr(settings, "TONGXIN_PERMISSIONS_POLICY", DEFAULT_PERMISSIONS_POLICY)
        if permissions:
            response.setdefault("Permissions-Policy", permissions)
