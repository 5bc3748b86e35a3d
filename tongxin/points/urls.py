"""Staff pages for points, the mall, priority checks and volunteering."""

from django.urls import path  # noqa: F401

app_name = "points"

urlpatterns: list = []
