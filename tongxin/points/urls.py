"""Staff pages for points, the mall, priority checks and volunteering."""

from django.urls import path

from . import views

app_name = "points"

urlpatterns = [
    path("", views.home, name="home"),
    path("check/", views.check_page, name="check"),
    path("pickup/", views.pickup_page, name="pickup"),
    path("award/", views.staff_award, name="award"),
    path("awards/<int:pk>/decide/", views.award_decide, name="award_decide"),
    path("appeals/<int:pk>/decide/", views.appeal_decide, name="appeal_decide"),
    path("items/", views.items_page, name="items"),
    path("activities/", views.activities_page, name="activities"),
    path("activities/<int:pk>/", views.activity_page, name="activity"),
    path("activities/<int:pk>/signups/<int:signup_pk>/confirm/", views.signup_confirm, name="signup_confirm"),
]
