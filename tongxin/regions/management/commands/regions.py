"""Area imports — thin wrappers over tongxin/regions/services.py (docs/regions.md):

    tongxin regions import FILE --level LEVEL --crs CRS (--parent CODE | --parent-property PROP)
                           [--code-property code] [--name-property name] [--encoding gbk] [--dry-run] [--json]
    tongxin regions import-grids FILE --crs CRS ...      (the same, --level grid)
    tongxin regions import-geojson FILE --level L --parent CODE [--crs wgs84]   (older form, adcode/name)
    tongxin regions import-towns FILE --city CODE

FILE is GeoJSON (.geojson/.json), an ESRI Shapefile (.shp with its .dbf, .shx, .cpg beside it) or a .zip
holding one. Every feature is checked before anything is saved, and the validation report printed;
``--dry-run`` stops there. A real run saves nothing when there is an error (exit status 1) and saves, in
one transaction, when there are only warnings. Re-imports update areas by code: primary keys stay.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from tongxin.core.datums import Datum
from tongxin.core.errors import ApplicationError
from tongxin.regions.choices import AreaLevel

CRS_HELP = "文件坐标系（必填）：wgs84（GPS）、gcj02（高德、腾讯、微信）或 bd09（百度）；入库统一为 WGS-84"


def _fail(exc: ApplicationError) -> CommandError:
    details = "；".join(f"{field}: {reason}" for field, reason in exc.fields.items())
    return CommandError(f"{exc.message}（{exc.code}）" + (f"：{details}" if details else ""))


def _read(path: str) -> str:
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"文件不存在：{path}")
    return file.read_text(encoding="utf-8-sig")


def _feature_arguments(parser: CommandParser, *, level: bool, crs_required: bool, code_default: str) -> None:
    parser.add_argument("file", help="GeoJSON、Shapefile（.shp，同目录须有同名 .dbf）或含 Shapefile 的 .zip")
    if level:
        parser.add_argument("--level", required=True, choices=[v for v in AreaLevel.values if v != AreaLevel.CITY],
                            help="这些区域的层级，例如 district、town、community、grid")
    parent = parser.add_mutually_exclusive_group(required=True)
    parent.add_argument("--parent", metavar="CODE", help="所有要素的上级区域代码，例如 150603001001")
    parent.add_argument("--parent-property", metavar="PROP", help="要素中上级区域代码的属性名（一个文件含多个上级时）")
    parser.add_argument("--crs", required=crs_required, default=None if crs_required else Datum.WGS84.value,
                        choices=[d.value for d in Datum], help=CRS_HELP)
    parser.add_argument("--code-property", default=code_default, help=f"要素中代码的属性名（默认 {code_default}）")
    parser.add_argument("--name-property", default="name", help="要素中名称的属性名（默认 name）")
    parser.add_argument("--encoding", default="", help="Shapefile 属性表（.dbf）的编码；默认读 .cpg，没有则 gbk")
    parser.add_argument("--dry-run", action="store_true", help="只校验并打印报告，不保存")
    parser.add_argument("--json", action="store_true", help="以 JSON 打印校验报告")


class Command(BaseCommand):
    help = "区划导入：边界（GeoJSON、Shapefile，先校验后保存）与苏木乡镇街道代码（统计用区划代码 CSV）。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{import,import-grids,import-geojson,import-towns}")
        _feature_arguments(sub.add_parser("import", help="导入一级区域的边界：先校验，再按代码新增或更新"),
                           level=True, crs_required=True, code_default="code")
        _feature_arguments(sub.add_parser("import-grids", help="导入网格边界（即 import --level grid）"),
                           level=False, crs_required=True, code_default="code")
        _feature_arguments(sub.add_parser("import-geojson", help="旧写法：同 import，代码属性默认 adcode，坐标系默认 wgs84"),
                           level=True, crs_required=False, code_default="adcode")
        towns = sub.add_parser("import-towns", help="导入苏木乡镇街道名称与 9 位代码（区县须已导入）")
        towns.add_argument("file", help="CSV：code,name,areaCode,areaName,cityCode,provinceCode")
        towns.add_argument("--city", required=True, metavar="CODE", help="只导入该市的行，例如 150600")

    def handle(self, *args: Any, **options: Any) -> None:
        from tongxin.regions.services import area_import_town_codes, read_csv_text

        try:
            if options["action"] == "import-towns":
                rows = read_csv_text(_read(options["file"]))
                result = area_import_town_codes(rows=rows, city_code=options["city"])
                self.stdout.write(self.style.SUCCESS(
                    f"已导入苏木乡镇街道：新增 {result['created']}，更新 {result['updated']}，跳过（其他城市）{result['skipped']}"
                ))
                return
            self._import(options)
        except ApplicationError as exc:
            raise _fail(exc) from exc

    def _import(self, options: dict[str, Any]) -> None:
        from tongxin.regions.imports import ImportFileError, read_features
        from tongxin.regions.selectors import area_get_by_code
        from tongxin.regions.services import ImportRejected, area_import_features

        level = AreaLevel.GRID.value if options["action"] == "import-grids" else options["level"]
        parent = None
        if options["parent"]:
            parent = area_get_by_code(options["parent"])
            if parent is None:
                raise CommandError(_("上级区域 %(code)s 不存在，请先导入上级区域") % {"code": options["parent"]})
        try:
            features = read_features(options["file"], encoding=options["encoding"])
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        try:
            report = area_import_features(
                features=features, datum=options["crs"], level=level, parent=parent,
                parent_property=options["parent_property"] or "", code_property=options["code_property"],
                name_property=options["name_property"], dry_run=options["dry_run"],
                source=Path(options["file"]).name,
            )
        except ImportRejected as exc:
            self._print(exc.report, options)
            raise CommandError(_("校验发现 %(count)s 个错误，未保存任何内容") % {"count": len(exc.report.errors)}) from exc
        self._print(report, options)
        if options["dry_run"]:
            if report.errors:
                raise CommandError(_("试运行：校验发现 %(count)s 个错误（未保存）") % {"count": len(report.errors)})
            self.stdout.write(self.style.SUCCESS(_("试运行：校验通过，未保存（去掉 --dry-run 即导入）")))
            return
        self.stdout.write(self.style.SUCCESS(
            _("已导入%(level)s边界：新增 %(created)s，更新 %(updated)s") % {
                "level": AreaLevel(level).label, "created": report.created, "updated": report.updated}
            + (_("（警告 %(count)s 条，见上）") % {"count": len(report.warnings)} if report.warnings else "")
        ))

    def _print(self, report: Any, options: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(report.as_text())
