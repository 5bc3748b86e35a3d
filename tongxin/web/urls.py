from django.contrib.auth import views as auth_views
from django.urls import path

from . import auth_views as staff_auth
from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", staff_auth.login, name="login"),
    path("accounts/login/verify/", staff_auth.login_verify, name="login_verify"),
    path("accounts/totp/setup/", staff_auth.totp_setup, name="totp_setup"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/reveal/", views.order_reveal, name="order_reveal"),
]

from . import callback, dispatch, notifications, numbers, queue  # noqa: E402 - the workbench's pages, appended by their own modules

urlpatterns += [
    path("workbench/notifications/", notifications.notification_page, name="notifications"),
    path("workbench/notifications/badge/", notifications.notification_badge, name="notification_badge"),
    path("workbench/notifications/read/", notifications.notification_read, name="notification_read"),
    path("workbench/queue/", queue.queue_page, name="queue"),
    path("workbench/queue/<int:pk>/<str:action>/", queue.queue_action, name="queue_action"),
    path("workbench/dispatch/", dispatch.dispatch_page, name="dispatch"),
    path("workbench/dispatch/bulk/", dispatch.dispatch_bulk, name="dispatch_bulk"),
    path("workbench/dispatch/<int:pk>/<str:action>/", dispatch.dispatch_action, name="dispatch_action"),
    path("workbench/callback/", callback.callback_page, name="callback"),
    path("workbench/callback/<int:pk>/<str:action>/", callback.callback_action, name="callback_action"),
    path("workbench/numbers/", numbers.numbers_page, name="numbers"),
]

from . import intake, knowledge  # noqa: E402 - the operator's intake console and the knowledge base

urlpatterns += [
    path("workbench/intake/", intake.intake, name="intake"),
    path("workbench/intake/assist/", intake.intake_assist, name="intake_assist"),
    path("workbench/intake/categories/", intake.intake_categories, name="intake_categories"),
    path("workbench/intake/areas/", intake.intake_areas, name="intake_areas"),
    path("workbench/intake/<int:pk>/dispatch/", intake.intake_dispatch, name="intake_dispatch"),
    path("workbench/knowledge/", knowledge.knowledge_list, name="knowledge_list"),
    path("workbench/knowledge/new/", knowledge.knowledge_edit, name="knowledge_new"),
    path("workbench/knowledge/<int:pk>/edit/", knowledge.knowledge_edit, name="knowledge_edit"),
]
