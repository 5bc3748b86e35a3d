from django.urls import path, register_converter

from . import views


class TokenConverter:
    """Anything that could be a code: the view decides (forged ones get their own page)."""

    regex = r"[A-Za-z0-9_.-]{1,80}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TokenConverter, "code")

app_name = "residents"
urlpatterns = [
    path("home/", views.home, name="home"),
    path("logout/", views.logout, name="logout"),
    path("report/", views.report, name="report"),
    path("report/suggest/", views.suggest, name="suggest"),
    path("requests/", views.request_list, name="requests"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/rate/", views.request_rate, name="request_rate"),
    path("board/", views.board, name="board"),
    path("board.json", views.board_data, name="board_data"),
    path("board/outlines.json", views.board_outlines, name="board_outlines"),
    path("staff/", views.staff_codes, name="staff_codes"),
    path("staff/code/<str:kind>/<int:pk>.<str:fmt>", views.code_image, name="code_image"),
    path("staff/print/<int:area_id>/<str:building>/", views.print_sheet, name="print_sheet"),
    path("<code:token>/", views.landing, name="landing"),
]
