"""Reading boundary files (GeoJSON, ESRI Shapefile) and checking them before anything is saved.

:func:`read_features` turns a file into :class:`FeatureIn` rows, whatever its format;
:func:`validate_features` converts them to WGS-84 and returns an :class:`ImportReport`: the features
ready to save, and every problem found, each an *error* (the import is refused) or a *warning* (saved
anyway, printed). The writes are in :func:`tongxin.regions.services.area_import_features`.

Tolerances: boundaries drawn by hand never meet exactly, so slivers are forgiven. A feature sticking out of
its parent by more than ``OUTSIDE_ERROR`` of its own area is an error (less, a warning); two siblings
overlapping by more than ``OVERLAP_ERROR`` of the smaller one are an error (less, a warning); a gap between
the siblings inside their parent larger than ``GAP_WARNING`` of the parent is a warning (a parent need not
be tiled completely by one import).
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from tongxin.core.datums import Datum, in_china_box

from .choices import LEVEL_ORDER, AreaLevel
from .geometry import geometry_to_wgs84
from .models import Area

OUTSIDE_ERROR = 0.01
OVERLAP_ERROR = 0.01
GAP_WARNING = 0.001
SLIVER = 1e-6  # below this share nothing is reported at all (float noise of shared edges)
MAX_REPORTED = 200  # issues kept per import; the count of the rest is reported


class ImportFileError(ValueError):
    """The file cannot be read at all (missing, wrong format, a shapefile without its .dbf)."""


@dataclass
class FeatureIn:
    index: int  # 1-based position in the file, for people
    properties: dict[str, Any]
    geometry: dict[str, Any] | None


@dataclass
class Issue:
    severity: str  # "error" | "warning"
    kind: str  # stable: invalid_ring, overlap, gap, outside_parent, duplicate_code, missing_code, …
    message: str  # Chinese, names the feature
    feature: int | None = None
    code: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "kind": self.kind, "feature": self.feature, "code": self.code,
                "message": self.message}


@dataclass
class PlannedArea:
    code: str
    name: str
    parent: Area
    boundary: dict[str, Any]
    exists: bool


@dataclass
class ImportReport:
    level: str
    datum: str
    features: int = 0
    planned: list[PlannedArea] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    omitted: int = 0
    created: int = 0
    updated: int = 0
    saved: bool = False

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    def add(self, severity: str, kind: str, message: str, *, feature: int | None = None, code: str = "") -> None:
        if len(self.issues) >= MAX_REPORTED:
            self.omitted += 1
            return
        self.issues.append(Issue(severity, kind, message, feature, code))

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level, "crs": self.datum, "features": self.features, "saved": self.saved,
            "created": self.created, "updated": self.updated,
            "to_create": sum(not p.exists for p in self.planned), "to_update": sum(p.exists for p in self.planned),
            "errors": len(self.errors), "warnings": len(self.warnings), "omitted": self.omitted,
            "issues": [i.as_dict() for i in self.issues],
        }

    def as_text(self) -> str:
        label = AreaLevel(self.level).label
        new = sum(not p.exists for p in self.planned)
        lines = [_("校验报告：%(features)s 个要素（%(level)s，坐标系 %(crs)s），将新增 %(new)s、更新 %(old)s；"
                   "错误 %(errors)s，警告 %(warnings)s") % {
            "features": self.features, "level": label, "crs": self.datum, "new": new,
            "old": len(self.planned) - new, "errors": len(self.errors), "warnings": len(self.warnings)}]
        error, warning = _("错误"), _("警告")
        lines.extend(f"  [{error if i.severity == 'error' else warning}] {i.message}" for i in self.issues)
        if self.omitted:
            lines.append("  " + _("…另有 %(count)s 条未列出") % {"count": self.omitted})
        return "\n".join(lines)


# --- reading ------------------------------------------------------------------------------------

def read_features(path: str | Path, *, encoding: str = "") -> list[FeatureIn]:
    """Features of a GeoJSON file (.geojson/.json), a shapefile (.shp with its .dbf beside it) or a .zip
    holding one shapefile."""
    file = Path(path)
    if not file.is_file():
        raise ImportFileError(_("文件不存在：%(path)s") % {"path": path})
    suffix = file.suffix.lower()
    if suffix in {".geojson", ".json"}:
        try:
            data = json.loads(file.read_text(encoding="utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImportFileError(_("不是有效的 GeoJSON：%(error)s") % {"error": exc}) from exc
        return geojson_features(data)
    if suffix == ".shp":
        dbf = _sibling(file, ".dbf")
        if dbf is None:
            raise ImportFileError(_("缺少属性表文件 %(name)s：Shapefile 须与同名 .dbf 一起提供")
                                  % {"name": file.with_suffix(".dbf").name})
        cpg = _sibling(file, ".cpg")
        with file.open("rb") as shp, dbf.open("rb") as dbf_file:
            shx = _sibling(file, ".shx")
            shx_file = shx.open("rb") if shx else None
            try:
                return _shapefile_features(shp, dbf_file, shx_file, encoding or _cpg_encoding(cpg))
            finally:
                if shx_file:
                    shx_file.close()
    if suffix == ".zip":
        return _zip_features(file, encoding)
    raise ImportFileError(_("不支持的文件类型 %(suffix)s：请用 .geojson、.shp 或含 Shapefile 的 .zip")
                          % {"suffix": suffix or _("（无扩展名）")})


def geojson_features(data: Any) -> list[FeatureIn]:
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ImportFileError(_("不是 GeoJSON FeatureCollection"))
    features = data.get("features")
    if not isinstance(features, list):
        raise ImportFileError(_("GeoJSON 缺少 features 数组"))
    result = []
    for index, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            raise ImportFileError(_("第 %(n)s 个要素不是对象") % {"n": index})
        result.append(FeatureIn(index=index, properties=dict(feature.get("properties") or {}),
                                geometry=feature.get("geometry")))
    return result


def _sibling(file: Path, suffix: str) -> Path | None:
    for candidate in (file.with_suffix(suffix), file.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def _cpg_encoding(cpg: Path | None) -> str:
    """The .cpg names the .dbf's code page; Chinese shapefiles without one are usually GBK."""
    return _cpg_name(cpg.read_text(encoding="ascii", errors="ignore")) if cpg is not None else "gbk"


def _shapefile_features(shp: Any, dbf: Any, shx: Any, encoding: str) -> list[FeatureIn]:
    import shapefile  # pyshp

    try:
        reader = shapefile.Reader(shp=shp, dbf=dbf, shx=shx, encoding=encoding, encodingErrors="strict")
        if reader.shapeType not in (shapefile.POLYGON, shapefile.POLYGONZ, shapefile.POLYGONM, shapefile.NULL):
            raise ImportFileError(_("Shapefile 的几何类型是 %(kind)s，须为面（Polygon）") % {"kind": reader.shapeTypeName})
        result = []
        for index, record in enumerate(reader.iterShapeRecords(), start=1):
            geometry = record.shape.__geo_interface__ if record.shape.shapeType != shapefile.NULL else None
            result.append(FeatureIn(index=index, properties=record.record.as_dict(), geometry=geometry))
        return result
    except ImportFileError:
        raise
    except (UnicodeDecodeError, shapefile.ShapefileException) as exc:
        if isinstance(exc, UnicodeDecodeError) or "decode" in str(exc):
            raise ImportFileError(_("属性表编码不是 %(encoding)s：请用 --encoding 指定（如 utf-8 或 gbk）")
                                  % {"encoding": encoding}) from exc
        raise ImportFileError(_("无法读取 Shapefile：%(error)s") % {"error": exc}) from exc
    except ( OSError, ValueError, struct.error) as exc:
        raise ImportFileError(_("无法读取 Shapefile：%(error)s") % {"error": exc}) from exc


def _zip_features(file: Path, encoding: str) -> list[FeatureIn]:
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile as exc:
        raise ImportFileError(_("不是有效的 zip 文件：%(error)s") % {"error": exc}) from exc
    with archive:
        shp_names = [n for n in archive.namelist() if n.lower().endswith(".shp")]
        if len(shp_names) != 1:
            raise ImportFileError(_("zip 中须恰好有一个 .shp 文件（现有 %(count)s 个）") % {"count": len(shp_names)})
        stem = shp_names[0][:-4]
        members = {n.lower(): n for n in archive.namelist()}

        def member(suffix: str) -> io.BytesIO | None:
            name = members.get((stem + suffix).lower())
            return io.BytesIO(archive.read(name)) if name else None

        dbf = member(".dbf")
        if dbf is None:
            raise ImportFileError(_("zip 中缺少 %(name)s.dbf：Shapefile 须与同名 .dbf 一起提供") % {"name": Path(stem).name})
        cpg = member(".cpg")
        code_page = encoding or (_cpg_name(cpg.read().decode("ascii", "ignore")) if cpg else "gbk")
        return _shapefile_features(member(".shp"), dbf, member(".shx"), code_page)


def _cpg_name(text: str) -> str:
    name = text.strip().lower()
    return {"65001": "utf-8", "936": "gbk", "utf8": "utf-8"}.get(name, name or "gbk")


# --- checking -----------------------------------------------------------------------------------

def _square_metres(geom: BaseGeometry) -> float:
    """Planar area in degrees² → m², at the shape's latitude (plenty for a report)."""
    if geom.is_empty:
        return 0.0
    lat = geom.centroid.y
    return geom.area * 111_320.0 * 111_320.0 * math.cos(math.radians(lat))


def _pct(share: float) -> str:
    return f"{share:.1%}" if share >= 0.001 else f"{share:.3%}"


def _fmt_m2(value: float) -> str:
    if value >= 1e5:
        return _("%(value).2f 平方千米") % {"value": value / 1e6}
    return _("%(value).0f 平方米") % {"value": value}


def _all_coords_in_china(geometry: dict[str, Any]) -> bool:
    coords = shapely.get_coordinates(shape(geometry))
    return all(in_china_box(float(x), float(y)) for x, y in coords[:: max(1, len(coords) // 200)]) and all(
        in_china_box(float(x), float(y)) for x, y in coords[[0, -1]])


def validate_features(
    features: list[FeatureIn], *, datum: Datum | str, level: str, parent: Area | None = None,
    parent_property: str = "", code_property: str = "code", name_property: str = "name",
) -> ImportReport:
    """Everything that can be checked before saving. ``parent`` puts every feature under one area;
    ``parent_property`` instead names the property holding each feature's parent code."""
    datum = Datum(datum)
    report = ImportReport(level=level, datum=datum.value, features=len(features))
    if level not in AreaLevel.values or level == AreaLevel.CITY:
        report.add("error", "bad_level", _("层级 %(level)s 不能导入（可选：district、town、community、grid）") % {"level": level})
        return report
    depth = LEVEL_ORDER.index(AreaLevel(level))
    if not features:
        report.add("error", "empty", _("文件中没有要素"))
    if parent is None and not parent_property:
        report.add("error", "unknown_parent", _("须指定上级区域（--parent）或上级代码属性（--parent-property）"))
        return report
    existing = {a.code: a for a in Area.objects.filter(code__in=[
        str(f.properties.get(code_property) or "").strip() for f in features]).only("pk", "code", "level")}
    parents: dict[str, Area | None] = {}
    seen: dict[str, int] = {}
    shapes: dict[int, BaseGeometry] = {}  # feature index → WGS-84 shape (valid ones only)
    parent_of: dict[int, Area] = {}
    codes: dict[int, str] = {}
    planned_codes: set[str] = set()
    for feature in features:
        n = feature.index
        props = feature.properties
        code = str(props.get(code_property) or "").strip()
        name = str(props.get(name_property) or "").strip()
        where = (_("第 %(n)s 个要素（%(code)s）") if code else _("第 %(n)s 个要素")) % {"n": n, "code": code}
        if not code:
            report.add("error", "missing_code", _("%(where)s缺少代码属性 %(prop)s") % {"where": where, "prop": code_property}, feature=n)
        elif len(code) > 32:
            report.add("error", "bad_code", _("%(where)s的代码超过 32 个字符") % {"where": where}, feature=n, code=code)
        elif code in seen:
            report.add("error", "duplicate_code", _("%(where)s的代码与第 %(other)s 个要素重复") % {"where": where, "other": seen[code]},
                       feature=n, code=code)
        if not name:
            report.add("error", "missing_name", _("%(where)s缺少名称属性 %(prop)s") % {"where": where, "prop": name_property}, feature=n,
                       code=code)
        elif len(name) > 100:
            report.add("error", "bad_name", _("%(where)s的名称超过 100 个字符") % {"where": where}, feature=n, code=code)
        if code and code not in seen:
            seen[code] = n
        if code in existing and existing[code].level != level:
            report.add("error", "level_mismatch", _("%(where)s：代码 %(code)s 已用于%(old)s，不能改为%(new)s") % {
                "where": where, "code": code, "old": AreaLevel(existing[code].level).label,
                "new": AreaLevel(level).label}, feature=n, code=code)
        # The parent.
        feature_parent = parent
        if parent_property:
            parent_code = str(props.get(parent_property) or "").strip()
            if not parent_code:
                report.add("error", "unknown_parent", _("%(where)s缺少上级代码属性 %(prop)s") % {
                    "where": where, "prop": parent_property}, feature=n, code=code)
                feature_parent = None
            else:
                if parent_code not in parents:
                    parents[parent_code] = Area.objects.filter(code=parent_code).first()
                feature_parent = parents[parent_code]
                if feature_parent is None:
                    report.add("error", "unknown_parent", _("%(where)s的上级区域 %(parent)s 不存在") % {
                        "where": where, "parent": parent_code}, feature=n, code=code)
        if feature_parent is not None and LEVEL_ORDER.index(AreaLevel(feature_parent.level)) >= depth:
            report.add("error", "bad_level", _("%(where)s：%(level)s不能位于%(parent_level)s（%(parent)s）之下") % {
                "where": where, "level": AreaLevel(level).label, "parent_level": feature_parent.get_level_display(),
                "parent": feature_parent.code}, feature=n, code=code)
            feature_parent = None
        # The geometry.
        geometry = feature.geometry
        if not isinstance(geometry, dict) or geometry.get("type") not in {"Polygon", "MultiPolygon"}:
            kind = geometry.get("type") if isinstance(geometry, dict) else _("空")
            report.add("error", "bad_geometry", _("%(where)s的几何类型是 %(kind)s，须为 Polygon 或 MultiPolygon") % {
                "where": where, "kind": kind},
                       feature=n, code=code)
            continue
        try:
            raw = shape(geometry)
        except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException) as exc:
            report.add("error", "bad_geometry", _("%(where)s的坐标无法解析：%(error)s") % {"where": where, "error": exc},
                       feature=n, code=code)
            continue
        if raw.is_empty:
            report.add("error", "bad_geometry", _("%(where)s的几何为空") % {"where": where}, feature=n, code=code)
            continue
        if not _all_coords_in_china(geometry):
            report.add("error", "outside_china", _("%(where)s的坐标不在中国境内的经纬度范围（是否为投影坐标或经纬度颠倒？）") % {"where": where},
                       feature=n, code=code)
            continue
        if not raw.is_valid:
            report.add("error", "invalid_ring", _("%(where)s的边界无效：%(reason)s") % {"where": where, "reason": _explain(raw)},
                       feature=n, code=code)
            continue
        boundary = geometry_to_wgs84(geometry, datum)
        geom = shape(boundary)
        if not geom.is_valid:  # the datum shift is smooth, but rounding can still pinch a thin spike
            geom = shapely.make_valid(geom)
            boundary = dict(mapping(geom))
            report.add("warning", "repaired", _("%(where)s的边界在坐标转换后自相交，已自动修复") % {"where": where},
                       feature=n, code=code)
        if not code or not name or feature_parent is None or code in planned_codes:
            continue
        planned_codes.add(code)
        shapes[n] = geom
        parent_of[n] = feature_parent
        codes[n] = code
        report.planned.append(PlannedArea(code=code, name=name, parent=feature_parent, boundary=boundary,
                                          exists=code in existing))
    _check_against_parents(report, shapes, parent_of, codes)
    return report


def _explain(geom: BaseGeometry) -> str:
    reason = explain_validity(geom)
    words = {"Self-intersection": _("边界自相交"), "Ring Self-intersection": _("环自相交"),
             "Too few points": _("点数太少"), "Hole lies outside shell": _("内环在外环之外"),
             "Nested shells": _("外环相互嵌套"), "Interior is disconnected": _("内部不连通"),
             "Duplicate Rings": _("环重复"), "Nested holes": _("内环相互嵌套")}
    for english, chinese in words.items():
        if reason.startswith(english):
            return chinese + reason[len(english):].replace("[", _("，位置 ["))
    return reason


def _check_against_parents(report: ImportReport, shapes: dict[int, BaseGeometry], parent_of: dict[int, Area],
                           codes: dict[int, str]) -> None:
    by_parent: dict[int, list[int]] = {}
    for n, parent in parent_of.items():
        by_parent.setdefault(parent.pk, []).append(n)
    for parent_pk, members in by_parent.items():
        parent = parent_of[members[0]]
        parent_shape = None
        parent_boundary = Area.objects.filter(pk=parent_pk).values_list("boundary", flat=True).first()
        if parent_boundary:
            parent_shape = shape(parent_boundary)
            if not parent_shape.is_valid:
                parent_shape = shapely.make_valid(parent_shape)
        else:
            report.add("warning", "parent_without_boundary",
                       _("上级区域 %(name)s（%(code)s）没有边界：无法检查是否超出上级、是否有空隙") % {
                           "name": parent.name, "code": parent.code})
        # Outside the parent.
        if parent_shape is not None:
            for n in members:
                geom = shapes[n]
                outside = geom.difference(parent_shape)
                share = outside.area / geom.area if geom.area else 0.0
                if share > SLIVER:
                    severity = "error" if share > OUTSIDE_ERROR else "warning"
                    report.add(severity, "outside_parent",
                               _("第 %(n)s 个要素（%(code)s）有 %(share)s（约 %(m2)s）在上级区域 %(parent)s（%(parent_code)s）之外")
                               % {"n": n, "code": codes[n], "share": _pct(share), "m2": _fmt_m2(_square_metres(outside)),
                                  "parent": parent.name, "parent_code": parent.code}, feature=n, code=codes[n])
        # Siblings: the file's, plus those already stored under the parent and not in this file.
        siblings: list[tuple[str, str, BaseGeometry, int | None]] = [(codes[n], _("第 %(n)s 个要素（%(code)s）") % {"n": n, "code": codes[n]}, shapes[n], n)
                                                                     for n in members]
        in_file = {codes[n] for n in members}
        for code, name, boundary in Area.objects.filter(parent_id=parent_pk, level=report.level).exclude(
                code__in=in_file).exclude(boundary__isnull=True).values_list("code", "name", "boundary"):
            geom = shape(boundary)
            siblings.append((code, _("已有的%(name)s（%(code)s）") % {"name": name, "code": code}, geom if geom.is_valid else shapely.make_valid(geom), None))
        geoms = [s[2] for s in siblings]
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        for a, b in zip(left.tolist(), right.tolist(), strict=True):
            if a >= b or (siblings[a][3] is None and siblings[b][3] is None):
                continue
            overlap = geoms[a].intersection(geoms[b])
            smaller = min(geoms[a].area, geoms[b].area)
            share = overlap.area / smaller if smaller else 0.0
            if share > SLIVER:
                severity = "error" if share > OVERLAP_ERROR else "warning"
                n = siblings[a][3] if siblings[a][3] is not None else siblings[b][3]
                report.add(severity, "overlap",
                           _("%(a)s与%(b)s重叠 %(share)s（约 %(m2)s）") % {
                               "a": siblings[a][1], "b": siblings[b][1], "share": _pct(share),
                               "m2": _fmt_m2(_square_metres(overlap))},
                           feature=n, code=codes.get(n or 0, ""))
        # Gaps between the siblings inside the parent.
        if parent_shape is not None and parent_shape.area:
            gap = parent_shape.difference(shapely.union_all(geoms))
            share = gap.area / parent_shape.area
            if share > GAP_WARNING:
                report.add("warning", "gap",
                           _("上级区域 %(name)s（%(code)s）内有 %(share)s（约 %(m2)s）不属于任何%(level)s") % {
                               "name": parent.name, "code": parent.code, "share": _pct(share),
                               "m2": _fmt_m2(_square_metres(gap)), "level": AreaLevel(report.level).label})
