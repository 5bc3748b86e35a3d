from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ParticipationConfig(AppConfig):
    name = "tongxin.participation"
    label = "participation"
    verbose_name = gettext_lazy("码上协商")
