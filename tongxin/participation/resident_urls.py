"""The resident's consultation and voting pages (phone-sized, behind the household code's login)."""

from django.urls import path

from . import views

app_name = "participation_r"

urlpatterns = [
    path("", views.resident_list, name="list"),
    path("<int:pk>/", views.resident_topic, name="topic"),
]
