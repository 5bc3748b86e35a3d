"""``tongxin dashboard_rollup``: fold the new work-order events into the dashboard's rollups once (the job
Huey runs every minute) and print the result as JSON."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser

from tongxin.workorders.management.commands.sla_sweep import parse_moment


class Command(BaseCommand):
    help = "城市运行：把新的工单流转记录增量汇总到统计表（可重复执行）。结果以 JSON 输出。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="evaluate deadlines at this moment (ISO 8601)")

    def handle(self, *args: object, **options: object) -> None:
        from tongxin.dashboard.rollups import fold

        now = parse_moment(str(options["now"])) if options.get("now") else None
        self.stdout.write(json.dumps(fold(now=now).as_dict(), ensure_ascii=False))
