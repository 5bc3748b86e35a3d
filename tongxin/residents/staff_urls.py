"""Staff pages for basic information (基础信息采集): households, residents, buildings, merchants."""

from django.urls import path

from . import staff_views as views

app_name = "residents_staff"

urlpatterns = [
    path("", views.index, name="index"),
    path("import/", views.import_upload, name="import"),
    path("buildings/new/", views.building_form, name="building_new"),
    path("buildings/<int:pk>/", views.building_detail, name="building"),
    path("buildings/<int:pk>/edit/", views.building_form, name="building_edit"),
    path("households/new/", views.household_form, name="household_new"),
    path("households/<int:pk>/", views.household_detail, name="household"),
    path("households/<int:pk>/edit/", views.household_form, name="household_edit"),
    path("households/<int:household_pk>/residents/new/", views.resident_form, name="resident_new"),
    path("residents/<int:pk>/", views.resident_detail, name="resident"),
    path("residents/<int:pk>/edit/", views.resident_form, name="resident_edit"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="resident_reveal"),
    path("merchants/new/", views.merchant_form, name="merchant_new"),
    path("merchants/<int:pk>/", views.merchant_detail, name="merchant"),
    path("merchants/<int:pk>/edit/", views.merchant_form, name="merchant_edit"),
    path("merchants/<int:pk>/reveal/", views.merchant_reveal, name="merchant_reveal"),
    path("<str:kind>/", views.record_list, name="list"),
]
