"""Grid workers' field pages (patrols, reports, opinions) and the leaders' opinion page, under /grid/.
Basic-information collection lives at /grid/info/ (tongxin.residents.staff_urls)."""

from django.urls import path

from . import views

app_name = "grids"

urlpatterns = [
    path("", views.home, name="home"),
    path("g/<int:pk>/", views.grid_detail, name="grid"),
    path("patrols/", views.patrol_list, name="patrols"),
    path("patrols/start/", views.patrol_start, name="patrol_start"),
    path("patrols/<int:pk>/", views.patrol_detail, name="patrol"),
    path("patrols/<int:pk>/checkin/", views.patrol_checkin, name="patrol_checkin"),
    path("patrols/<int:pk>/end/", views.patrol_end, name="patrol_end"),
    path("reports/", views.report_list, name="reports"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/suggest/", views.report_suggest, name="report_suggest"),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("reports/<int:pk>/settle/", views.report_settle, name="report_settle"),
    path("reports/<int:pk>/raise/", views.report_raise, name="report_raise"),
    path("reports/<int:pk>/photo/<str:which>/", views.report_photo, name="report_photo"),
    path("opinions/", views.opinion_list, name="opinions"),
    path("opinions/new/", views.opinion_new, name="opinion_new"),
]
