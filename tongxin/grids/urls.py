"""Grid workers' field pages (patrols, reports, basic information, opinions)."""

from django.urls import path  # noqa: F401

app_name = "grids"

urlpatterns: list = []
