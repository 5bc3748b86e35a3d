from django.apps import AppConfig


class WorkordersConfig(AppConfig):
    name = "tongxin.workorders"
    label = "workorders"
    verbose_name = "工单"
