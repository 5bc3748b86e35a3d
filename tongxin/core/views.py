"""Core pages: only the health endpoint. Other pages live in their domain apps."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .health import health_check


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the service can work (also on "warning": a missing holiday year needs a person, not a
    restart), 503 when the database is unreachable so the load balancer takes the instance out."""
    result = health_check()
    return JsonResponse(result, status=503 if result["status"] == "error" else 200, json_dumps_params={"ensure_ascii": False})
