from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "tongxin.dashboard"
    label = "dashboard"
    verbose_name = "城市运行"
