from django.apps import AppConfig


class InsightConfig(AppConfig):
    name = "tongxin.insight"
    label = "insight"
    verbose_name = "智能分拨"
