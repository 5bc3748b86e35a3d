"""Staff pages for basic information (基础信息采集): households, residents, buildings, merchants."""

from django.urls import path  # noqa: F401

app_name = "residents_staff"

urlpatterns: list = []
