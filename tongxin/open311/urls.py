"""GeoReport v2 under /open311/v2/ (mounted by tongxin/urls.py). Every path ends in ``.{format}``;
the views answer 404 for a format other than xml or json, and anything else under the prefix gets a
404 in the specification's error shape."""

from django.urls import path, re_path

from . import views

app_name = "open311"

FMT = r"\.(?P<fmt>[^/.]*)"

urlpatterns = [
    path("", views.not_found, name="root"),
    re_path(rf"^discovery{FMT}$", views.discovery, name="discovery"),
    re_path(rf"^services{FMT}$", views.service_list, name="services"),
    re_path(rf"^services/(?P<service_code>[^/]+?){FMT}$", views.service_definition, name="service-definition"),
    re_path(rf"^requests{FMT}$", views.requests, name="requests"),
    re_path(rf"^requests/(?P<service_request_id>[^/]+?){FMT}$", views.request_detail, name="request"),
    re_path(rf"^tokens/(?P<token>[^/]+?){FMT}$", views.token_detail, name="token"),
    re_path(rf"^servicerequestupdates{FMT}$", views.updates, name="updates"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
