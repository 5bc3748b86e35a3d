"""``tongxin sla_sweep [--dry-run] [--now ISO]``: run the SLA sweep once and print its result as JSON.

The same job Huey runs every five minutes (``tongxin.workorders.tasks.sla_sweep_task``), for cron, for a
deploy check, or to see what the sweep would do (``--dry-run`` writes nothing). ``--now`` evaluates the
clocks at another moment (ISO 8601; a time without an offset is read in the configured TIME_ZONE).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone


def parse_moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--now 必须是 ISO 8601 时间（例如 2026-11-23T09:30:00+08:00）：{value}") from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


class Command(BaseCommand):
    help = "时限巡检：临期催办、超期督办（可重复执行，不会重复通知）；--dry-run 只报告不写入。结果以 JSON 输出。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="只报告将要催办/督办的工单，不写入任何内容")
        parser.add_argument("--now", metavar="ISO", help="按该时间计算期限（ISO 8601），默认当前时间")

    def handle(self, *args: Any, **options: Any) -> None:
        from tongxin.workorders.sweep import sla_sweep

        now = parse_moment(options["now"]) if options.get("now") else None
        result = sla_sweep(now=now, dry_run=bool(options["dry_run"]))
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, sort_keys=True))
