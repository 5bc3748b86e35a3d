from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "tongxin.residents"
    label = "residents"
    verbose_name = "码上生活"
