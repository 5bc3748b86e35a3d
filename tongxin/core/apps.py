from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tongxin.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        from tongxin.core import checks  # noqa: F401 - registers the system checks
