"""Staff pages for consultations and votes."""

from django.urls import path  # noqa: F401

app_name = "participation"

urlpatterns: list = []
