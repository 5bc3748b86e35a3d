"""``tongxin hotspot_alerts [--dry-run] [--days N] [--radius M] [--min-size N]``: send the early-warning
notifications of the current hotspots to the leaders of their areas now (the hourly job does the same)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "热点预警：把当前的热点（相近诉求聚集）通知所在区域的领导（--dry-run 只列出不发送）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="只列出，不发送")
        parser.add_argument("--days", type=int, default=7, help="时间窗（天，1–90）")
        parser.add_argument("--radius", type=float, default=500.0, help="距离（米，50–5000）")
        parser.add_argument("--min-size", type=int, default=3, help="最少诉求数（2–100）")

    def handle(self, *args: Any, **options: Any) -> None:
        from tongxin.insight.services import hotspot_alerts_send

        if not 1 <= options["days"] <= 90:
            raise CommandError(_("--days 必须在 1 到 90 之间"))
        if not 50 <= options["radius"] <= 5000:
            raise CommandError(_("--radius 必须在 50 到 5000 米之间"))
        if not 2 <= options["min_size"] <= 100:
            raise CommandError(_("--min-size 必须在 2 到 100 之间"))
        report = hotspot_alerts_send(days=options["days"], radius_m=options["radius"], min_size=options["min_size"],
                                     dry_run=options["dry_run"])
        for item in report.items:
            self.stdout.write(f"{item['title']} → {', '.join(item['leaders']) or _('（该区域没有领导账号）')}")
        self.stdout.write(json.dumps({"hotspots": report.hotspots, "notified": report.notified,
                                      "dry_run": report.dry_run}, ensure_ascii=False))
