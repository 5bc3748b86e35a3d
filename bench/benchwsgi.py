"""tongxin's WSGI application plus two baseline endpoints, for the benchmarks only.

``gunicorn --pythonpath bench benchwsgi:application`` serves everything tongxin serves and also:

- ``GET /bench/ping``: a plain Django view that only returns JSON, through the whole middleware stack
  (the issue's "bare JSON Django view" comparison);
- ``POST /bench/api/echo``: a Django Ninja endpoint with tongxin's bearer-token authentication and a
  request schema shaped like the intake body, which validates and answers without touching the work
  orders (what the API layer costs before the service runs).

Nothing in tongxin/ changes: the routes are added to the URL list in this process only.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402
from ninja import NinjaAPI, Schema  # noqa: E402

import tongxin.urls  # noqa: E402
from tongxin.api import TokenAuth  # noqa: E402


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


class EchoIn(Schema):
    channel: str
    kind: str
    content: str
    category_code: str | None = None
    lat: float | None = None
    lng: float | None = None
    address: str = ""
    citizen_name: str = ""
    citizen_phone: str = ""
    urgency: str = "normal"


bench_api = NinjaAPI(title="bench", version="bench", urls_namespace="bench-api", auth=[TokenAuth()], docs_url=None)


@bench_api.post("/echo")
def echo(request: HttpRequest, payload: EchoIn) -> dict[str, object]:
    return {"ok": True, "chars": len(payload.content)}


tongxin.urls.urlpatterns[:0] = [path("bench/ping", ping), path("bench/api/", bench_api.urls)]
clear_url_caches()
