from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PointsConfig(AppConfig):
    name = "tongxin.points"
    label = "points"
    verbose_name = gettext_lazy("积分与志愿服务")
