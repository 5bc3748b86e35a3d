"""``tongxin retention [--days N] [--dry-run]``: anonymise the personal fields of work orders and dispute
cases finished more than N days ago (default ``TONGXIN_RETENTION_DAYS``; 0 or unset: do nothing).

Core knows no domain: the domains' functions are named in ``TONGXIN_RETENTION_HANDLERS`` (dotted paths to
``anonymise_closed_before(cutoff, *, dry_run)``), each one transaction with its own audit row.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.module_loading import import_string

DEFAULT_HANDLERS = ("tongxin.workorders.retention.anonymise_closed_before",
                    "tongxin.mediation.retention.anonymise_closed_before")


def run_retention(*, days: int, dry_run: bool = False) -> dict[str, int]:
    """Call every handler with the cutoff ``days`` ago; how many records each changed (or would)."""
    cutoff = timezone.now() - timedelta(days=days)
    results = {}
    for path in getattr(settings, "TONGXIN_RETENTION_HANDLERS", DEFAULT_HANDLERS):
        results[path] = import_string(path)(cutoff, dry_run=dry_run)
    return results


class Command(BaseCommand):
    help = "按 TONGXIN_RETENTION_DAYS 对办结已久的工单和纠纷案件中的个人信息做匿名化处理"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=None, help="保存天数（默认 TONGXIN_RETENTION_DAYS）")
        parser.add_argument("--dry-run", action="store_true", help="只统计，不修改")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else int(getattr(settings, "TONGXIN_RETENTION_DAYS", 0))
        if days < 0:
            raise CommandError("--days 不能为负数")
        if days == 0:
            self.stdout.write("未设置保存期限（TONGXIN_RETENTION_DAYS=0），不做处理。")
            return
        results = run_retention(days=days, dry_run=options["dry_run"])
        verb = "将匿名化" if options["dry_run"] else "已匿名化"
        for path, count in results.items():
            self.stdout.write(f"{path.rsplit('.', 2)[0]}：{verb} {count} 条（办结超过 {days} 天）")
