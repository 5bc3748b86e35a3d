"""The resident's points, mall and volunteering pages."""

from django.urls import path  # noqa: F401

app_name = "points_r"

urlpatterns: list = []
