from django.urls import path

from . import views

app_name = "mediation"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("numbers/", views.numbers_page, name="numbers"),
    path("<int:pk>/", views.case_page, name="case"),
    path("<int:pk>/parties/<int:party_pk>/reveal/", views.party_reveal, name="reveal"),
    path("<int:pk>/<str:action>/", views.case_action, name="action"),
]
