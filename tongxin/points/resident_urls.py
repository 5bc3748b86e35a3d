"""The resident's points, mall and volunteering pages."""

from django.urls import path

from . import views

app_name = "points_r"

urlpatterns = [
    path("", views.r_home, name="home"),
    path("mall/", views.r_mall, name="mall"),
    path("mall/<int:pk>/redeem/", views.r_redeem, name="redeem"),
    path("redemptions/<int:pk>/", views.r_redemption, name="redemption"),
    path("redemptions/<int:pk>/cancel/", views.r_redemption_cancel, name="redemption_cancel"),
    path("card/", views.r_card, name="card"),
    path("appeal/<int:entry_pk>/", views.r_appeal, name="appeal"),
    path("volunteer/", views.r_volunteer, name="volunteer"),
    path("volunteer/<int:pk>/signup/", views.r_signup, name="signup"),
    path("volunteer/<int:pk>/cancel/", views.r_signup_cancel, name="signup_cancel"),
    path("v/<str:token>/", views.r_scan, name="scan"),
]
