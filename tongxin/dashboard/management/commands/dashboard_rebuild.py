"""``tongxin dashboard_rebuild``: recompute the dashboard's facts and rollups from the raw work orders
(gives the same rows as the incremental fold) and print the timings as JSON."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser

from tongxin.workorders.management.commands.sla_sweep import parse_moment


class Command(BaseCommand):
    help = "城市运行：从工单原始数据全量重算统计表（与增量汇总结果一致）。结果以 JSON 输出。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="evaluate deadlines at this moment (ISO 8601)")

    def handle(self, *args: object, **options: object) -> None:
        from tongxin.dashboard.rollups import rebuild

        now = parse_moment(str(options["now"])) if options.get("now") else None
        self.stdout.write(json.dumps(rebuild(now=now), ensure_ascii=False))
