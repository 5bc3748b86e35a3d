"""``manage.py calendar seed [--year Y ...]`` and ``manage.py calendar status``.

``status`` exits with code 1 when the current year (or, from November on, the next one) has no holiday
schedule, so that monitoring or a deploy script can fail loudly instead of deadlines silently
ignoring holidays.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "工作日历：从 chinesecalendar 导入节假日（seed），或检查节假日是否已录入（status）。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{seed,status}")
        seed = sub.add_parser("seed", help="从 chinesecalendar 导入节假日与调休上班日（可重复执行）")
        seed.add_argument(
            "--year", dest="years", type=int, action="append", metavar="Y",
            help="只导入该年份（可重复给出）；默认导入 chinesecalendar 已知的全部年份",
        )
        sub.add_parser("status", help="检查当年（11 月起含次年）的节假日是否已录入；未录入时退出码为 1")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "seed":
            self._seed(options.get("years"))
        else:
            self._status()

    def _seed(self, years: list[int] | None) -> None:
        from tongxin.core.calendar_seed import calendar_seed_from_chinesecalendar

        try:
            result = calendar_seed_from_chinesecalendar(years=years)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        years_done = result["years"]
        self.stdout.write(self.style.SUCCESS(
            f"已导入 {years_done[0]}–{years_done[-1]} 年（{result['source']}）：" if len(years_done) > 1
            else f"已导入 {years_done[0]} 年（{result['source']}）："
        ))
        self.stdout.write(
            f"  日期：新增 {result['days_created']}，更新 {result['days_updated']}，未变 {result['days_unchanged']}\n"
            f"  年份：新增 {result['years_created']}，更新 {result['years_updated']}，未变 {result['years_unchanged']}\n"
            f"  工作时段：新增 {result['periods_created']}"
        )

    def _status(self) -> None:
        from tongxin.core.workcalendar import calendar_status, invalidate_calendar_cache, load_calendar

        invalidate_calendar_cache()  # a command run must see the database as it is now
        calendar = load_calendar()
        status = calendar_status(calendar=calendar)
        known = sorted(calendar.known_years)
        periods = ", ".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in calendar.periods)
        self.stdout.write(f"已录入年份：{_ranges(known) or '无'}")
        self.stdout.write(f"工作时段：{periods}")
        self.stdout.write(f"检查年份：{'、'.join(map(str, status['checked_years']))}")
        if status["ok"]:
            self.stdout.write(self.style.SUCCESS("工作日历正常"))
            return
        raise CommandError(status["message"], returncode=1)


def _ranges(years: list[int]) -> str:
    """"2004–2026, 2028" instead of 23 numbers."""
    parts: list[str] = []
    start = previous = None
    for year in [*years, None]:
        if year is not None and previous is not None and year == previous + 1:
            previous = year
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}–{previous}")
        start = previous = year
    return ", ".join(parts)
