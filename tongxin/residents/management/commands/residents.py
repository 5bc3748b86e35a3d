"""``tongxin residents import FILE.xlsx|FILE.csv --area CODE [--dry-run]``: households and residents of one
community, all or nothing (see tongxin/residents/importer.py and docs/residents.md for the columns).

Exit status 0 when the file was imported (or, with --dry-run, would be); 1 with the report of every bad
row and field when anything is wrong — then nothing was saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "基础信息：批量导入住户和居民（每位居民一行，住户各列逐行重复）。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{import}")
        imp = sub.add_parser("import", help="导入住户和居民（.xlsx 或 .csv）；有任何错误则全部不保存")
        imp.add_argument("file", help="Excel (.xlsx) 或 CSV 文件")
        imp.add_argument("--area", required=True, metavar="CODE", help="社区代码（12 位），例如 150602001001")
        imp.add_argument("--dry-run", action="store_true", help="只检查并报告，不保存")

    def handle(self, *args: Any, **options: Any) -> None:
        from tongxin.regions.choices import AreaLevel
        from tongxin.regions.selectors import area_get_by_code
        from tongxin.residents.importer import ImportFileError, import_rows, read_rows, report_lines

        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        area = area_get_by_code(options["area"])
        if area is None:
            raise CommandError(f"社区 {options['area']} 不存在")
        if area.level != AreaLevel.COMMUNITY:
            raise CommandError(f"请指定要导入的社区（社区代码）：{area.name} 不是社区（嘎查/村）")
        try:
            rows = read_rows(path.read_bytes(), name=path.name)
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        result = import_rows(rows, area=area, actor=None, dry_run=options["dry_run"])
        lines = report_lines(result)
        for line in lines[:-1]:
            self.stderr.write(line)
        if result.errors:
            raise CommandError(lines[-1])
        self.stdout.write(lines[-1])
