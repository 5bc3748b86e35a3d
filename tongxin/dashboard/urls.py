from django.urls import path

from . import map_views, views

app_name = "dashboard"

urlpatterns = [
    *map_views.urlpatterns,  # map/, map/data/, map/points/ (the area map)
    path("", views.dashboard_page, name="page"),
    path("screen/", views.screen_page, name="screen"),
    path("data/", views.dashboard_data, name="data"),
    path("geo/", views.dashboard_geo, name="geo"),
    path("insight/", views.dashboard_insight, name="insight"),
    path("orders/", views.dashboard_orders, name="orders"),
    path("reports/", views.report_list, name="reports"),
    path("reports/print/", views.report_print, name="report_print"),
    path("reports/xlsx/", views.report_xlsx, name="report_xlsx"),
    path("reports/file/<str:area_code>/<str:name>", views.report_file, name="report_file"),
]
