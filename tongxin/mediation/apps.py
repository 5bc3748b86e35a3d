from django.apps import AppConfig


class MediationConfig(AppConfig):
    name = "tongxin.mediation"
    label = "mediation"
    verbose_name = "矛盾纠纷调解"
