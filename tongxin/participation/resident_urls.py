"""The resident's consultation and voting pages."""

from django.urls import path  # noqa: F401

app_name = "participation_r"

urlpatterns: list = []
