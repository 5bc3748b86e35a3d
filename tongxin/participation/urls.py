"""Staff pages for consultations and votes."""

from django.urls import path

from . import views

app_name = "participation"

urlpatterns = [
    path("", views.topic_list, name="list"),
    path("new/", views.topic_new, name="new"),
    path("<int:pk>/", views.topic_page, name="topic"),
    path("<int:pk>/edit/", views.topic_edit, name="edit"),
    path("<int:pk>/export.xlsx", views.topic_export, name="export"),
    path("<int:pk>/<str:action>/", views.topic_action, name="action"),
]
