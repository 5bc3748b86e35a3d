"""Refuse NUL characters at the door.

PostgreSQL cannot store a NUL in text, so a "\\u0000" anywhere in a query string or a body would
otherwise surface as a database error (a 500) deep inside a service. One check here answers 400 in
the API's error shape instead, for every endpoint and page. Open311 answers in its own
specification's shape and does its own check.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

EXEMPT_PREFIXES = ("/open311/",)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "").lower():
        return True
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return False
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("application/json"):
        body = request.body
        return b"\x00" in body or b"\\u0000" in body
    if content_type.startswith("application/x-www-form-urlencoded"):
        return b"\x00" in request.body or b"%00" in request.body.lower()
    return False


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(EXEMPT_PREFIXES):
            try:
                has_nul = _has_nul(request)
            except RequestDataTooBig:  # answered as 413 by the API's own handler
                has_nul = False
            if has_nul:
                return JsonResponse(
                    {"code": "invalid_characters", "message": "请求中包含无效的空字符（NUL）", "fields": {}},
                    status=400, json_dumps_params={"ensure_ascii": False},
                )
        return self.get_response(request)



