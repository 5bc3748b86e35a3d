"""``tongxin workorders import-taxonomy FILE``: seed the three-level category tree from a CSV with the
columns level1, level2, level3 (the layout of tongxin/workorders/data/taxonomy.csv), and make sure the
default SLA policy exists. Idempotent: categories are upserted by their positional codes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

DEFAULT_TAXONOMY = Path(__file__).resolve().parents[2] / "data" / "taxonomy.csv"


class Command(BaseCommand):
    help = "诉求分类：从 CSV（level1,level2,level3）导入三级分类，并确保默认时限策略存在。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{import-taxonomy}")
        taxonomy = sub.add_parser("import-taxonomy", help="导入三级分类（可重复执行）")
        taxonomy.add_argument("file", nargs="?", default=str(DEFAULT_TAXONOMY),
                              help="CSV 文件，默认为内置的 taxonomy.csv")

    def handle(self, *args: Any, **options: Any) -> None:
        from tongxin.workorders.catalogue import categories_import_taxonomy
        from tongxin.workorders.sla import sla_default_policy_ensure

        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        with path.open(encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"level1", "level2", "level3"} - set(reader.fieldnames or [])
            if missing:
                raise CommandError(f"CSV 缺少列：{'、'.join(sorted(missing))}")
            rows = list(reader)
        sla_default_policy_ensure()
        result = categories_import_taxonomy(rows=rows)
        self.stdout.write(self.style.SUCCESS(f"已导入分类：新增 {result['created']}，共 {result['total']} 个"))
