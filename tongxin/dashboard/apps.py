from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class DashboardConfig(AppConfig):
    name = "tongxin.dashboard"
    label = "dashboard"
    verbose_name = gettext_lazy("城市运行")
