"""The importer on good and broken files: all or nothing, a report naming every bad row and field,
re-import updates instead of duplicating, .xlsx and .csv (UTF-8 and GB18030), the command and the page."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from tongxin.residents import importer
from tongxin.residents.models import Building, Household, RecordChange, Resident

from .test_basic_info import make_id
from .test_staff_pages import client_for

pytestmark = pytest.mark.django_db

HEADER = "网格,楼栋,单元,门牌号,地址,面积,姓名,手机号,身份证号,出生日期,业主"
ID1, ID2, ID3 = make_id(born="19800101", seq="001"), make_id(born="19820202", seq="002"), make_id(born="20150505", seq="003")


def good_csv() -> str:
    return "\n".join([
        HEADER,
        f"150602001001G01,1号楼,1单元,101,甲社区和谐小区1号楼1单元101,88.5,张建国,13811110001,{ID1},,是",
        f"150602001001G01,1号楼,1单元,101,甲社区和谐小区1号楼1单元101,88.5,李秀英,13811110002,{ID2},,否",
        f"150602001001G01,1号楼,1单元,101,甲社区和谐小区1号楼1单元101,88.5,张小宝,,{ID3},,",
        "甲一网格,1号楼,1单元,102,甲社区和谐小区1号楼1单元102,75,王老汉,13811110003,,1950-03-08,是",
        ",,,,甲社区和谐村平房8号,,赵大妈,,,1948-12-01,是",
    ]) + "\n"


def run(text: str, world, *, dry_run=False, name="data.csv", encoding="utf-8"):
    rows = importer.read_rows(text.encode(encoding), name=name)
    return importer.import_rows(rows, area=world.community_a, dry_run=dry_run)


def test_good_file_imports_and_a_second_import_changes_nothing(world):
    result = run(good_csv(), world)
    assert result.errors == [] and result.saved
    assert (result.households_created, result.residents_created) == (3, 5)
    zhang = Resident.objects.get(name="张建国")
    assert zhang.is_owner and zhang.birth_date == date(1980, 1, 1) and zhang.id_masked.startswith("1506")
    assert Resident.objects.get(name="张小宝").phone == "" and Resident.objects.get(name="王老汉").birth_date == date(1950, 3, 8)
    household = zhang.household
    assert household.building_ref == Building.objects.get(name="1号楼") and str(household.floor_area) == "88.50"
    assert household.grid.code == "150602001001G01"
    assert RecordChange.objects.filter(action="imported", object_type="resident").count() == 5
    again = run(good_csv(), world)
    assert again.errors == [] and (again.households_created, again.residents_created) == (0, 0)
    assert (again.households_updated, again.residents_updated, again.unchanged) == (0, 0, 5)
    assert Household.objects.count() == 3 and Resident.objects.count() == 5


def test_chinese_headings_import_for_an_english_speaking_user(world):
    from django.utils import translation

    with translation.override("en"):
        result = run(good_csv(), world, dry_run=True)
        english = run(good_csv().replace("地址", "Address", 1).replace("姓名", "Name", 1), world, dry_run=True)
    assert result.errors == [] and english.errors == []


def test_reimport_updates_by_natural_key(world):
    run(good_csv(), world)
    changed = good_csv().replace("88.5,李秀英,13811110002", "90,李秀英,13911110002").replace("88.5,", "90,")
    result = run(changed, world)
    assert result.errors == [] and result.households_updated == 1 and result.residents_updated == 1
    assert Resident.objects.get(name="李秀英").phone == "13911110002"
    assert str(Household.objects.get(room="101").floor_area) == "90.00"
    assert Household.objects.count() == 3 and Resident.objects.count() == 5
    change = RecordChange.objects.filter(object_type="resident", action="imported").first()
    assert change.changes == {"phone": ["138****0002", "139****0002"]}


def test_broken_file_reports_every_bad_row_and_field_and_saves_nothing(world):
    bad = "\n".join([
        HEADER,
        f"150602001001G01,1号楼,1单元,101,甲社区1号楼1单元101,88.5,张建国,1381111000,{ID1[:17]}0,,是",  # phone, id
        "150602001001G01,1号楼,1单元,101,甲社区1号楼1单元101,-5,,13811110002,,1990-02-30,也许",  # area, name, date, owner
        "G99,2号楼,1单元,201,甲社区2号楼1单元201,70,孙七,13811110005,,,",  # no such grid
        f",2号楼,1单元,202,甲社区2号楼1单元202,70,周八,13811110006,{ID2},1999-01-01,",  # birth ≠ ID
        f",2号楼,1单元,203,甲社区2号楼1单元203,70,吴九,13811110007,{ID2},,",  # same ID as the row above
        "150602001001G01,1号楼,1单元,101,甲社区1号楼1单元101,88.5,张小宝,,,,",  # fine on its own
    ]) + "\n"
    result = run(bad, world)
    got = {(e.row, e.field) for e in result.errors}
    assert got == {(2, "phone"), (2, "id_number"), (3, "floor_area"), (3, "name"), (3, "birth_date"),
                   (3, "is_owner"), (4, "grid"), (5, "birth_date"), (6, "id_number")}
    lines = importer.report_lines(result)
    assert "第 2 行「手机号」：手机号应为 11 位数字，以 13–19 开头" in lines
    assert "第 6 行「身份证号」：与第 5 行的身份证号重复" in lines
    assert lines[-1] == "发现 9 处错误，未保存任何数据。请修改后重新导入。"
    assert not Household.objects.exists() and not Resident.objects.exists() and not Building.objects.exists()


def test_household_columns_must_agree_across_its_rows(world):
    text = "\n".join([HEADER, ",1号楼,1单元,101,甲社区1号楼1单元101,88,甲,,,1980-01-01,",
                      ",1号楼,1单元,101,甲社区1号楼1单元101,89,乙,,,1980-01-01,"]) + "\n"
    result = run(text, world)
    assert [(e.row, e.field) for e in result.errors] == [(3, "floor_area")]
    assert "见第 2 行" in result.errors[0].message


def test_database_checks_roll_everything_back(world, place):
    # Row 3 is valid on its own but collides with a resident already on file in another household.
    text = "\n".join([HEADER, f",5号楼,1单元,101,甲社区5号楼1单元101,,新人,,{ID1},,",
                      ",3号楼,2单元,101,甲社区幸福小区3号楼2单元101,,王小明二,13900001111,,,"]) + "\n"
    households = Household.objects.count()
    result = run(text, world)
    assert [(e.row, e.field) for e in result.errors] == [(3, "phone")]
    assert Household.objects.count() == households and not Resident.objects.filter(name="新人").exists()


def test_id_registered_in_another_community_is_refused(world):
    from tongxin.regions.choices import AreaLevel
    from tongxin.regions.services import area_upsert
    from tongxin.residents import services
    from tongxin.testing import square

    other = area_upsert(code="150603001001", name="乙社区", level=AreaLevel.COMMUNITY, parent=world.town_b,
                        boundary=square(109, 37, 0.5))
    far = services.household_create(area=other, address="乙社区1号")
    services.resident_add(household=far, name="张建国", id_number=ID1)
    result = run(good_csv(), world)
    assert [(e.row, e.field) for e in result.errors] == [(2, "id_number")]
    assert "乙社区" in result.errors[0].message


def test_dry_run_checks_against_the_database_but_saves_nothing(world):
    result = run(good_csv(), world, dry_run=True)
    assert result.errors == [] and not result.saved and result.residents_created == 5
    assert not Household.objects.exists() and not RecordChange.objects.exists()
    assert importer.report_lines(result)[-1].startswith("检查通过（只检查，未保存）")


def test_gb18030_csv_and_xlsx_with_typed_cells(world):
    assert run(good_csv(), world, dry_run=True, encoding="gb18030").errors == []
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "地址", "门牌号", "楼栋", "单元", "身份证号", "出生日期", "面积", "业主"])
    sheet.append(["刘一", "甲社区1号楼1单元301", 301, "1号楼", "1单元", ID1, None, 96.5, "是"])
    sheet.append(["刘二", "甲社区1号楼1单元301", 301, "1号楼", "1单元", None, datetime(2001, 7, 1), 96.5, "否"])
    sheet.append([None] * 9)  # a blank row is skipped
    out = io.BytesIO()
    book.save(out)
    rows = importer.read_rows(out.getvalue(), name="名单.xlsx")
    assert [n for n, _v in rows] == [2, 3]
    result = importer.import_rows(rows, area=world.community_a)
    assert result.errors == [] and result.residents_created == 2
    assert Household.objects.get().room == "301" and Resident.objects.get(name="刘二").birth_date == date(2001, 7, 1)


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"PK\x03\x04 not really a zip", "x.xlsx", "无法读取该 Excel 文件"),
    (b"name,address\n", "x.txt", "只支持 .xlsx 或 .csv"),
    (b"", "x.csv", "文件是空的"),
    ("姓名,地址\n".encode(), "x.csv", "没有数据行"),
    ("姓名,门牌号\n张三,1\n".encode(), "x.csv", "缺少必填列：地址"),
    ("姓名,地址,血型\n张三,x,A\n".encode(), "x.csv", "表头无法识别：血型"),
    ("姓名,地址,姓名\n张三,x,李四\n".encode(), "x.csv", "表头「姓名」重复"),
])
def test_unusable_files_are_refused_as_a_whole(data, name, message):
    with pytest.raises(importer.ImportFileError) as err:
        importer.read_rows(data, name=name)
    assert message in str(err.value)


def test_command_reports_and_exits_nonzero_on_errors(world, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text(good_csv(), encoding="utf-8")
    call_command("residents", "import", str(good), "--area", "150602001001", "--dry-run")
    assert "检查通过" in capsys.readouterr().out and not Household.objects.exists()
    call_command("residents", "import", str(good), "--area", "150602001001")
    assert Resident.objects.count() == 5
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n,,,,,,,,,,\n,,,,地址1,,,,,,\n", encoding="utf-8")
    with pytest.raises(CommandError) as err:
        call_command("residents", "import", str(bad), "--area", "150602001001")
    assert "未保存任何数据" in str(err.value)
    assert "第 3 行「姓名」：姓名不能为空" in capsys.readouterr().err
    with pytest.raises(CommandError, match="社区 999 不存在"):
        call_command("residents", "import", str(good), "--area", "999")
    with pytest.raises(CommandError, match="请指定要导入的社区"):
        call_command("residents", "import", str(good), "--area", "150602001")  # a town, not a community


def test_upload_page_shows_the_same_report(world):
    client = client_for(world.user("admin"))
    bad = SimpleUploadedFile("bad.csv", (HEADER + "\n,,,,甲社区1号,,张三,123,,,\n").encode())
    response = client.post("/grid/info/import/", {"area": world.community_a.pk, "file": bad})
    page = response.content.decode()
    assert response.status_code == 422 and "检查未通过" in page and "手机号应为 11 位数字" in page
    good = SimpleUploadedFile("good.csv", good_csv().encode())
    response = client.post("/grid/info/import/", {"area": world.community_a.pk, "file": good, "dry_run": "on"})
    assert response.status_code == 200 and "检查通过" in response.content.decode() and not Resident.objects.exists()
    good.seek(0)
    response = client.post("/grid/info/import/", {"area": world.community_a.pk, "file": good})
    assert "导入完成" in response.content.decode() and Resident.objects.count() == 5
    assert RecordChange.objects.filter(action="imported").first().actor_id == world.user("admin").pk
    junk = SimpleUploadedFile("x.xlsx", b"junk")
    response = client.post("/grid/info/import/", {"area": world.community_a.pk, "file": junk})
    assert response.status_code == 422 and "无法读取该 Excel 文件" in response.content.decode()
