from django.apps import AppConfig


class ParticipationConfig(AppConfig):
    name = "tongxin.participation"
    label = "participation"
    verbose_name = "码上协商"
