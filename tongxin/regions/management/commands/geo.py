"""``tongxin geo locate LNG LAT [--crs wgs84|gcj02|bd09]``: the path from the city down to the grid that
contains the point, as JSON (code, name, level, depth of each area). Exit status 1, with a Chinese
message, when the point is outside every area."""

from __future__ import annotations

import json
import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from tongxin.core.datums import Datum, to_wgs84


class Command(BaseCommand):
    help = "坐标工具：geo locate 经度 纬度 [--crs] —— 打印从市到网格的区域路径（JSON）。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{locate}")
        locate = sub.add_parser("locate", help="坐标落在哪个区域、哪个网格")
        locate.add_argument("lng", type=float, help="经度，例如 109.78")
        locate.add_argument("lat", type=float, help="纬度，例如 39.61")
        locate.add_argument("--crs", default=Datum.WGS84.value, choices=[d.value for d in Datum],
                            help="坐标系：wgs84（GPS，默认）、gcj02（高德、腾讯、微信）或 bd09（百度）")

    def handle(self, *args: Any, **options: Any) -> None:
        from tongxin.regions.selectors import area_locate_path

        lng, lat = options["lng"], options["lat"]
        if not (math.isfinite(lng) and math.isfinite(lat) and -180 <= lng <= 180 and -90 <= lat <= 90):
            raise CommandError(_("坐标 (%(lng)s, %(lat)s) 无效：经度须在 -180 到 180 之间，纬度须在 -90 到 90 之间")
                               % {"lng": lng, "lat": lat})
        wlng, wlat = to_wgs84(lng, lat, options["crs"])
        path = area_locate_path(wlng, wlat)
        if not path:
            raise CommandError(_("坐标 (%(lng)s, %(lat)s，%(crs)s) 不在任何区域内")
                               % {"lng": lng, "lat": lat, "crs": options["crs"]})
        self.stdout.write(json.dumps({"lng": round(wlng, 7), "lat": round(wlat, 7), "crs": "wgs84", "path": path},
                                     ensure_ascii=False, indent=2))
