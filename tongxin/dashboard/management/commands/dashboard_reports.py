"""``tongxin dashboard_reports [--date D] [--kind daily|weekly|monthly]``: write the reports the nightly
job writes (by default those due today), for the city and each district, into VAR_DIR/reports/."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "城市运行：生成日报/周报/月报（Excel）到 VAR_DIR/reports/。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="a day of the period (YYYY-MM-DD); with --kind")
        parser.add_argument("--kind", choices=["daily", "weekly", "monthly"])

    def handle(self, *args: object, **options: object) -> None:
        from tongxin.dashboard.reports import reports_generate

        kinds = None
        if options.get("kind"):
            if not options.get("date"):
                raise CommandError(_("--kind 需要同时给出 --date"))
            kinds = [(str(options["kind"]), date.fromisoformat(str(options["date"])))]
        for path in reports_generate(kinds=kinds):
            self.stdout.write(str(path))
