from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from tongxin.api import api
from tongxin.core.views import healthz

admin.site.site_header = "同心 · 社会治理平台 管理后台"
admin.site.site_title = "同心管理后台"
admin.site.index_title = "配置与管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("healthz", healthz, name="healthz"),
    path("open311/v2/", include("tongxin.open311.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("r/topics/", include("tongxin.participation.resident_urls")),
    path("r/points/", include("tongxin.points.resident_urls")),
    path("r/", include("tongxin.residents.urls")),
    path("grid/info/", include("tongxin.residents.staff_urls")),
    path("grid/", include("tongxin.grids.urls")),
    path("participation/", include("tongxin.participation.urls")),
    path("points/", include("tongxin.points.urls")),
    path("dashboard/", include("tongxin.dashboard.urls")),
    path("mediation/", include("tongxin.mediation.urls")),
    path("", include("tongxin.web.urls")),
]

if settings.DEBUG or settings.TONGXIN_SERVE_MEDIA:
    # Uploaded files; in production nginx serves /media/ (docs/deploy.md).
    urlpatterns.append(path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}))
