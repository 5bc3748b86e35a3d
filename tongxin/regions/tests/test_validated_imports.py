"""Validated imports (GeoJSON and Shapefile): every problem reported before anything is saved."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import shapefile
from django.core.management import call_command
from django.core.management.base import CommandError

from tongxin.core.choices import AuditEventType
from tongxin.core.datums import wgs84_to_gcj02
from tongxin.core.models import AuditEvent
from tongxin.regions.choices import AreaLevel
from tongxin.regions.imports import ImportFileError, geojson_features, read_features, validate_features
from tongxin.regions.models import Area
from tongxin.regions.services import ImportRejected, area_import_features, area_upsert
from tongxin.testing import square

pytestmark = pytest.mark.django_db
L = AreaLevel


def ring(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def poly(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [ring(x0, y0, x1, y1)]}


def feature(code, name, geometry, **extra):
    return {"type": "Feature", "properties": {"code": code, "name": name, **extra}, "geometry": geometry}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


# The community spans 109.70–109.80 × 39.60–39.70 (WGS-84); four grids tile it in quarters.
C = (109.70, 39.60, 109.80, 39.70)
QUARTERS = [(109.70, 39.60, 109.75, 39.65), (109.75, 39.60, 109.80, 39.65),
            (109.70, 39.65, 109.75, 39.70), (109.75, 39.65, 109.80, 39.70)]


@pytest.fixture
def community():
    city = area_upsert(code="150600", name="测试市", level=L.CITY, parent=None, boundary=square(109, 39, 2))
    district = area_upsert(code="150603", name="测试区", level=L.DISTRICT, parent=city, boundary=square(109.5, 39.5, 0.5))
    town = area_upsert(code="150603001", name="测试街道", level=L.TOWN, parent=district, boundary=poly(*C))
    return area_upsert(code="150603001001", name="测试社区", level=L.COMMUNITY, parent=town, boundary=poly(*C))


def grids(boxes=QUARTERS, *, to=None):
    convert = to or (lambda x, y: (x, y))
    out = []
    for n, b in enumerate(boxes, start=1):
        coords = [list(convert(x, y)) for x, y in ring(*b)]
        out.append(feature(f"150603001001G{n:02d}", f"第{n}网格", {"type": "Polygon", "coordinates": [coords]}))
    return collection(*out)


def validate(data, parent, **kwargs):
    kwargs.setdefault("datum", "wgs84")
    return validate_features(geojson_features(data), level=L.GRID, parent=parent, **kwargs)


def kinds(report, severity=None):
    return sorted({i.kind for i in report.issues if severity is None or i.severity == severity})


def test_a_clean_tiling_passes_and_saves_in_one_go(community):
    report = validate(grids(), community)
    assert report.issues == [] and len(report.planned) == 4
    saved = area_import_features(features=geojson_features(grids()), datum="wgs84", level=L.GRID, parent=community)
    assert (saved.created, saved.updated, saved.saved) == (4, 0, True)
    assert Area.objects.filter(level=L.GRID, parent=community).count() == 4
    assert AuditEvent.objects.filter(event_type=AuditEventType.AREA_IMPORTED).count() == 1


def test_gcj02_file_declared_gcj02_is_converted_and_fits(community):
    data = grids(to=wgs84_to_gcj02)
    assert validate(data, community, datum="gcj02").errors == []
    area_import_features(features=geojson_features(data), datum="gcj02", level=L.GRID, parent=community)
    first = Area.objects.get(code="150603001001G01").boundary["coordinates"][0][0]
    assert first == pytest.approx([109.70, 39.60], abs=1e-6)


def test_the_wrong_crs_puts_grids_outside_their_parent(community):
    # A GCJ-02 file declared as WGS-84: the grids land some 500 m off, partly outside the community.
    report = validate(grids(to=wgs84_to_gcj02), community, datum="wgs84")
    assert "outside_parent" in kinds(report, "error")
    assert any("在上级区域 测试社区（150603001001）之外" in i.message for i in report.errors)


def test_self_intersecting_ring(community):
    bowtie = {"type": "Polygon", "coordinates": [[[109.70, 39.60], [109.75, 39.65], [109.75, 39.60],
                                                  [109.70, 39.65], [109.70, 39.60]]]}
    report = validate(collection(feature("G1", "蝴蝶网格", bowtie)), community)
    [issue] = report.errors
    assert issue.kind == "invalid_ring" and issue.feature == 1 and "自相交" in issue.message
    assert report.planned == []


def test_overlapping_grids_are_an_error_slivers_a_warning(community):
    overlapping = [(109.70, 39.60, 109.76, 39.70), (109.75, 39.60, 109.80, 39.70)]  # 20 % of the smaller
    report = validate(grids(overlapping), community)
    assert kinds(report, "error") == ["overlap"] and "重叠 20.0%" in report.errors[0].message
    sliver = [(109.70, 39.60, 109.7502, 39.70), (109.75, 39.60, 109.80, 39.70)]  # 0.4 %
    report = validate(grids(sliver), community)
    assert report.errors == [] and kinds(report, "warning") == ["overlap"]


def test_overlap_with_a_grid_already_stored(community):
    area_upsert(code="OLD", name="已有网格", level=L.GRID, parent=community, boundary=poly(109.70, 39.60, 109.75, 39.70))
    report = validate(grids([(109.72, 39.60, 109.80, 39.70)]), community)
    assert any(i.kind == "overlap" and "已有的已有网格（OLD）" in i.message for i in report.errors)


def test_gaps_are_warnings(community):
    report = validate(grids(QUARTERS[:3]), community)
    assert report.errors == [] and kinds(report, "warning") == ["gap"]
    assert "25.0%" in report.warnings[0].message
    saved = area_import_features(features=geojson_features(grids(QUARTERS[:3])), datum="wgs84", level=L.GRID,
                                 parent=community)
    assert saved.saved and saved.created == 3  # warnings do not stop the import


def test_grid_outside_parent(community):
    report = validate(grids([(109.78, 39.60, 109.85, 39.65)]), community)
    assert "outside_parent" in kinds(report, "error")


@pytest.mark.parametrize(("data", "kind"), [
    (collection(feature("", "无代码", poly(*QUARTERS[0]))), "missing_code"),
    (collection(feature("G1", "", poly(*QUARTERS[0]))), "missing_name"),
    (collection(feature("G1", "甲", poly(*QUARTERS[0])), feature("G1", "乙", poly(*QUARTERS[1]))), "duplicate_code"),
    (collection(feature("G1", "点", {"type": "Point", "coordinates": [109.7, 39.6]})), "bad_geometry"),
    (collection(feature("G1", "投影坐标", poly(500000, 4380000, 501000, 4381000))), "outside_china"),
])
def test_feature_errors(community, data, kind):
    report = validate(data, community)
    assert kind in kinds(report, "error")
    assert all(i.message for i in report.errors)


def test_unknown_parent_by_property(community):
    data = collection(feature("G1", "甲", poly(*QUARTERS[0]), parent="150603001001"),
                      feature("G2", "乙", poly(*QUARTERS[1]), parent="999999"),
                      feature("G3", "丙", poly(*QUARTERS[2])))
    report = validate_features(geojson_features(data), datum="wgs84", level=L.GRID, parent_property="parent")
    assert [(i.kind, i.feature) for i in report.errors] == [("unknown_parent", 2), ("unknown_parent", 3)]
    assert [p.code for p in report.planned] == ["G1"]


def test_level_checks(community):
    town = community.parent
    report = validate_features(geojson_features(grids()), datum="wgs84", level=L.TOWN, parent=community)
    assert kinds(report, "error") == ["bad_level"]  # a town under a community
    area_upsert(code="150603001001G01", name="旧", level=L.GRID, parent=community)
    report = validate_features(geojson_features(grids()), datum="wgs84", level=L.COMMUNITY, parent=town)
    assert "level_mismatch" in kinds(report, "error")


def test_a_rejected_import_saves_nothing(community):
    data = grids([(109.70, 39.60, 109.76, 39.70), (109.75, 39.60, 109.80, 39.70)])
    with pytest.raises(ImportRejected) as caught:
        area_import_features(features=geojson_features(data), datum="wgs84", level=L.GRID, parent=community)
    assert caught.value.report.errors and "file" in caught.value.fields
    assert not Area.objects.filter(level=L.GRID).exists()
    assert not AuditEvent.objects.filter(event_type=AuditEventType.AREA_IMPORTED).exists()


def test_reimport_updates_by_code_and_keeps_the_keys(community):
    area_import_features(features=geojson_features(grids()), datum="wgs84", level=L.GRID, parent=community)
    keys = dict(Area.objects.filter(level=L.GRID).values_list("code", "pk"))
    renamed = grids()
    renamed["features"][0]["properties"]["name"] = "改名网格"
    report = area_import_features(features=geojson_features(renamed), datum="wgs84", level=L.GRID, parent=community)
    assert (report.created, report.updated) == (0, 4)
    assert dict(Area.objects.filter(level=L.GRID).values_list("code", "pk")) == keys
    assert Area.objects.get(code="150603001001G01").name == "改名网格"


# --- shapefiles --------------------------------------------------------------------------------------

def write_shapefile(base, boxes, *, encoding="utf-8", names=None):
    with shapefile.Writer(str(base), shapeType=shapefile.POLYGON, encoding=encoding) as w:
        w.field("code", "C", size=32)
        w.field("name", "C", size=60)
        for n, b in enumerate(boxes, start=1):
            x0, y0, x1, y1 = b
            w.poly([[(x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0)]])  # clockwise: an outer ring
            w.record(f"150603001001G{n:02d}", (names or {}).get(n, f"第{n}网格"))
    if encoding == "utf-8":
        base.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")


def test_shapefile_import(community, tmp_path):
    write_shapefile(tmp_path / "grids", QUARTERS)
    features = read_features(tmp_path / "grids.shp")
    assert [f.properties["name"] for f in features] == ["第1网格", "第2网格", "第3网格", "第4网格"]
    report = area_import_features(features=features, datum="wgs84", level=L.GRID, parent=community)
    assert report.created == 4 and report.issues == []


def test_gbk_shapefile_without_cpg(community, tmp_path):
    write_shapefile(tmp_path / "gbk", QUARTERS[:1], encoding="gbk", names={1: "乌兰网格"})
    assert read_features(tmp_path / "gbk.shp")[0].properties["name"] == "乌兰网格"  # no .cpg: GBK
    with pytest.raises(ImportFileError, match="编码"):
        read_features(tmp_path / "gbk.shp", encoding="utf-8")


def test_shapefile_in_a_zip(community, tmp_path):
    write_shapefile(tmp_path / "grids", QUARTERS)
    archive = tmp_path / "grids.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for suffix in (".shp", ".shx", ".dbf", ".cpg"):
            z.write(tmp_path / f"grids{suffix}", f"data/grids{suffix}")
    assert len(read_features(archive)) == 4
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as z:
        z.write(tmp_path / "grids.shp", "grids.shp")
    with pytest.raises(ImportFileError, match=r"缺少 grids\.dbf"):
        read_features(broken)


def test_shapefile_with_a_missing_dbf(tmp_path):
    write_shapefile(tmp_path / "grids", QUARTERS)
    (tmp_path / "grids.dbf").unlink()
    with pytest.raises(ImportFileError, match=r"缺少属性表文件 grids\.dbf"):
        read_features(tmp_path / "grids.shp")


def test_unreadable_files(tmp_path):
    (tmp_path / "a.geojson").write_text("{not json", encoding="utf-8")
    (tmp_path / "b.kml").write_text("<kml/>", encoding="utf-8")
    (tmp_path / "c.shp").write_bytes(b"garbage")
    (tmp_path / "c.dbf").write_bytes(b"garbage")
    with pytest.raises(ImportFileError, match="不是有效的 GeoJSON"):
        read_features(tmp_path / "a.geojson")
    with pytest.raises(ImportFileError, match="不支持的文件类型"):
        read_features(tmp_path / "b.kml")
    with pytest.raises(ImportFileError, match="无法读取 Shapefile"):
        read_features(tmp_path / "c.shp")
    with pytest.raises(ImportFileError, match="文件不存在"):
        read_features(tmp_path / "none.geojson")


# --- the command -------------------------------------------------------------------------------------

def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_command_dry_run_then_real_run(community, tmp_path):
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(grids(QUARTERS[:3])), encoding="utf-8")
    text = run("regions", "import-grids", str(path), "--crs", "wgs84", "--parent", "150603001001", "--dry-run")
    assert "校验报告：3 个要素" in text and "[警告]" in text and "试运行：校验通过，未保存" in text
    assert not Area.objects.filter(level=L.GRID).exists()
    text = run("regions", "import-grids", str(path), "--crs", "wgs84", "--parent", "150603001001")
    assert "已导入网格边界：新增 3，更新 0" in text
    assert Area.objects.filter(level=L.GRID).count() == 3
    report = json.loads(run("regions", "import", str(path), "--level", "grid", "--crs", "wgs84",
                            "--parent", "150603001001", "--dry-run", "--json").split("\n试运行")[0])
    assert report["to_update"] == 3 and report["warnings"] == 1 and report["saved"] is False


def test_command_refuses_a_broken_file(community, tmp_path):
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(grids(to=wgs84_to_gcj02)), encoding="utf-8")  # GCJ-02, declared WGS-84
    out = io.StringIO()
    with pytest.raises(CommandError, match="未保存任何内容"):
        call_command("regions", "import-grids", str(path), "--crs", "wgs84", "--parent", "150603001001", stdout=out)
    assert "[错误]" in out.getvalue() and not Area.objects.filter(level=L.GRID).exists()
    with pytest.raises(CommandError, match="试运行：校验发现"):
        call_command("regions", "import-grids", str(path), "--crs", "wgs84", "--parent", "150603001001",
                     "--dry-run", stdout=io.StringIO())
    # Declared correctly, the same file goes in.
    assert "新增 4" in run("regions", "import-grids", str(path), "--crs", "gcj02", "--parent", "150603001001")


def test_command_needs_a_crs_and_a_parent(community, tmp_path):
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(grids()), encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("regions", "import-grids", str(path), "--parent", "150603001001", stdout=io.StringIO())
    with pytest.raises(CommandError, match="上级区域 404 不存在"):
        call_command("regions", "import-grids", str(path), "--crs", "wgs84", "--parent", "404", stdout=io.StringIO())
    with pytest.raises(CommandError, match="缺少属性表文件"):
        (tmp_path / "x.shp").write_bytes(b"")
        call_command("regions", "import-grids", str(tmp_path / "x.shp"), "--crs", "wgs84", "--parent", "150603001001",
                     stdout=io.StringIO())
