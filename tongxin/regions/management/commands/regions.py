"""``tongxin regions import-geojson FILE --level L --parent CODE --crs DATUM`` and
``tongxin regions import-towns FILE --city CODE``: thin wrappers over tongxin/regions/services.py.

Both are idempotent (areas are upserted by code) and print what they created and updated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongxin.core.datums import Datum
from tongxin.core.errors import ApplicationError
from tongxin.regions.choices import AreaLevel


def _fail(exc: ApplicationError) -> CommandError:
    details = "；".join(f"{field}: {reason}" for field, reason in exc.fields.items())
    return CommandError(f"{exc.message}（{exc.code}）" + (f"：{details}" if details else ""))


def _read(path: str) -> str:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"文件不存在：{path}")
    return file.read_text(encoding="utf-8-sig")


class Command(BaseCommand):
    help = "区划导入：边界（GeoJSON）与苏木乡镇街道代码（统计用区划代码 CSV）。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{import-geojson,import-towns}")
        geo = sub.add_parser("import-geojson", help="导入一级区域的边界（按代码新增或更新）")
        geo.add_argument("file", help="GeoJSON FeatureCollection 文件")
        geo.add_argument("--level", required=True, choices=[v for v in AreaLevel.values if v != AreaLevel.CITY],
                         help="这些区域的层级，例如 district")
        geo.add_argument("--parent", required=True, metavar="CODE", help="上级区域代码，例如 150600")
        geo.add_argument("--crs", default=Datum.WGS84.value, choices=[d.value for d in Datum],
                         help="文件坐标系：wgs84（默认）、gcj02（高德、腾讯）或 bd09（百度）；入库统一为 WGS-84")
        geo.add_argument("--code-property", default="adcode", help="要素中代码的属性名（默认 adcode）")
        geo.add_argument("--name-property", default="name", help="要素中名称的属性名（默认 name）")
        towns = sub.add_parser("import-towns", help="导入苏木乡镇街道名称与 9 位代码（区县须已导入）")
        towns.add_argument("file", help="CSV：code,name,areaCode,areaName,cityCode,provinceCode")
        towns.add_argument("--city", required=True, metavar="CODE", help="只导入该市的行，例如 150600")

    def handle(self, *args: Any, **options: Any) -> None:
        from tongxin.regions.selectors import area_get_by_code
        from tongxin.regions.services import area_import_geojson, area_import_town_codes, read_csv_text

        try:
            if options["action"] == "import-geojson":
                parent = area_get_by_code(options["parent"])
                if parent is None:
                    raise CommandError(f"上级区域 {options['parent']} 不存在，请先导入上级区域")
                try:
                    collection = json.loads(_read(options["file"]))
                except json.JSONDecodeError as exc:
                    raise CommandError(f"不是有效的 JSON：{exc}") from exc
                result = area_import_geojson(
                    collection=collection, datum=options["crs"], level=options["level"], parent=parent,
                    code_property=options["code_property"], name_property=options["name_property"],
                )
                self.stdout.write(self.style.SUCCESS(
                    f"已导入{AreaLevel(options['level']).label}边界：新增 {result['created']}，更新 {result['updated']}"
                ))
            else:
                rows = read_csv_text(_read(options["file"]))
                result = area_import_town_codes(rows=rows, city_code=options["city"])
                self.stdout.write(self.style.SUCCESS(
                    f"已导入苏木乡镇街道：新增 {result['created']}，更新 {result['updated']}，跳过（其他城市）{result['skipped']}"
                ))
        except ApplicationError as exc:
            raise _fail(exc) from exc
