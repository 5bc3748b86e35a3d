"""The households-and-residents importer (批量导入): one row per resident, the household's columns
repeated on each of its rows; .xlsx (openpyxl) or .csv (UTF-8, or GB18030 as Excel saves it).

All or nothing. Every row is checked first (format, then against the database, inside one
transaction with a savepoint per row); the report names every bad row and field in Chinese; if any
row is bad, nothing is saved. Re-importing the same file changes nothing: a household is matched by
its door in the community (building + unit + room; by its address when it has no room number), a
resident by the digest of their ID number — or, without one, by name within the household — so a
second import updates instead of duplicating. The columns are documented in docs/residents.md.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.core.errors import ValidationFailed
from tongxin.regions.choices import AreaLevel

from . import services
from .choices import ChangeAction
from .models import Building, Household, RecordChange, Resident

MAX_ROWS = 20_000
MAX_BYTES = 10 * 1024 * 1024
# (field, Chinese header, accepted aliases, required)
COLUMNS: list[tuple[str, Any, tuple[str, ...], bool]] = [
    ("grid", gettext_lazy("网格"), ("grid", "网格代码", "所属网格"), False),
    ("building", gettext_lazy("楼栋"), ("building", "楼号"), False),
    ("unit", gettext_lazy("单元"), ("unit",), False),
    ("room", gettext_lazy("门牌号"), ("room", "房号", "户号"), False),
    ("address", gettext_lazy("地址"), ("address", "住址"), True),
    ("floor_area", gettext_lazy("面积"), ("floor_area", "面积（平方米）", "建筑面积", "专有面积"), False),
    ("name", gettext_lazy("姓名"), ("name",), True),
    ("phone", gettext_lazy("手机号"), ("phone", "手机", "联系电话"), False),
    ("id_number", gettext_lazy("身份证号"), ("id_number", "身份证号码", "公民身份号码"), False),
    ("birth_date", gettext_lazy("出生日期"), ("birth_date",), False),
    ("is_owner", gettext_lazy("业主"), ("is_owner", "是否业主"), False),
]
LABELS = {f: label for f, label, _aliases, _req in COLUMNS}
HOUSEHOLD_COLUMNS = ("grid", "building", "unit", "room", "address", "floor_area")
YES = {"是", "y", "yes", "1", "true", "√", "业主"}
NO = {"", "否", "n", "no", "0", "false"}


class ImportFileError(Exception):
    """The file cannot be read at all (not a spreadsheet, no header, too large)."""


@dataclass(frozen=True)
class RowError:
    row: int  # as the spreadsheet numbers it (the header is row 1)
    field: str
    message: str

    @property
    def label(self) -> str:
        return str(LABELS.get(self.field, self.field or _("整行")))

    def __str__(self) -> str:
        if not self.row:
            return self.message
        return _("第 %(row)s 行「%(label)s」：%(message)s") % {"row": self.row, "label": self.label,
                                                           "message": self.message}


@dataclass
class ImportResult:
    rows: int = 0
    households_created: int = 0
    households_updated: int = 0
    residents_created: int = 0
    residents_updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def saved(self) -> bool:
        return not self.errors and not self.dry_run and self.rows > 0


# --- reading --------------------------------------------------------------------------------------------

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and hasattr(value, "hour"):  # a datetime cell (a birth date typed as date)
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 101.0 → "101"; an ID number must be stored as text in Excel anyway
    return str(value).strip()


def read_rows(upload: Any, *, name: str) -> list[tuple[int, dict[str, str]]]:
    """``[(row number, {field: text})]`` from an uploaded or opened file; headers matched by their Chinese
    name or an alias. Raises ImportFileError (in Chinese) when the file is unusable as a whole."""
    data = upload.read() if hasattr(upload, "read") else upload
    if len(data) > MAX_BYTES:
        raise ImportFileError(_("文件超过 10 MB，请分批导入"))
    lower = name.lower()
    if lower.endswith(".xlsx"):
        table = _xlsx(data)
    elif lower.endswith(".csv"):
        table = _csv(data)
    else:
        raise ImportFileError(_("只支持 .xlsx 或 .csv 文件"))
    header_row = next(((n, row) for n, row in table if any(c for c in row)), None)
    if header_row is None:
        raise ImportFileError(_("文件是空的"))
    header_number, header = header_row
    # The headings of our template are Chinese whatever the user's language; the user's own language's
    # labels (English: "Address", …) and the aliases are accepted too.
    with translation.override("zh-hans"):
        names = {str(label): f for f, label, _a, _r in COLUMNS}
    names.update({str(label).lower(): f for f, label, _a, _r in COLUMNS})
    names.update({alias.lower(): f for f, _l, aliases, _r in COLUMNS for alias in aliases})
    mapping: dict[int, str] = {}
    unknown = []
    for index, title in enumerate(header):
        key = title.strip().removesuffix("*").strip()
        if not key:
            continue
        target = names.get(key) or names.get(key.lower())
        if target is None:
            unknown.append(key)
        elif target in mapping.values():
            raise ImportFileError(_("表头「%(title)s」重复") % {"title": key})
        else:
            mapping[index] = target
    if unknown:
        raise ImportFileError(_("第 %(row)s 行表头无法识别：%(names)s。可用的列：%(columns)s") % {
            "row": header_number, "names": _("、").join(unknown), "columns": _("、").join(str(c[1]) for c in COLUMNS)})
    missing = [str(label) for f, label, _a, required in COLUMNS if required and f not in mapping.values()]
    if missing:
        raise ImportFileError(_("缺少必填列：%(names)s") % {"names": _("、").join(missing)})
    rows = []
    for number, row in table:
        if number <= header_number or not any(c for c in row):
            continue
        rows.append((number, {f: (row[i] if i < len(row) else "") for i, f in mapping.items()}))
        if len(rows) > MAX_ROWS:
            raise ImportFileError(_("超过 %(n)s 行，请分批导入") % {"n": MAX_ROWS})
    if not rows:
        raise ImportFileError(_("文件只有表头，没有数据行"))
    return rows


def _xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ImportFileError(_("无法读取该 Excel 文件（请另存为 .xlsx 后重试）")) from None
    try:
        sheet = book.worksheets[0]
        return [(n, [_cell(c) for c in row]) for n, row in enumerate(sheet.iter_rows(values_only=True), start=1)
                if n <= MAX_ROWS + 50]
    finally:
        book.close()


def _csv(data: bytes) -> list[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ImportFileError(_("无法识别文件编码（请保存为 UTF-8）"))
    if "\x00" in text:
        raise ImportFileError(_("文件包含无效的空字符，不是文本 CSV"))
    return [(n, [c.strip() for c in row]) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1)]


# --- checking and saving ---------------------------------------------------------------------------------

def _owner(value: str) -> bool:
    text = value.strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValidationFailed(fields={"is_owner": _("请填写“是”或“否”")})


def _grids_of(area: Any) -> dict[str, Any]:
    from tongxin.regions.models import Area

    grids = Area.objects.defer("boundary").filter(level=AreaLevel.GRID, path__startswith=area.path)
    found: dict[str, Any] = {}
    for grid in grids:
        found[grid.code] = grid
        found.setdefault(grid.name, grid)
    return found


def _row_format(values: dict[str, str], grids: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Pure checks of one row: ``(cleaned, errors)``."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {k: values.get(k, "") for k in LABELS}
    grid_text = values.get("grid", "")
    cleaned["grid"] = None
    if grid_text:
        cleaned["grid"] = grids.get(grid_text)
        if cleaned["grid"] is None:
            errors["grid"] = _("该社区没有这个网格（填网格代码或名称）")
    for key, check in (
        ("address", lambda: services._short(values.get("address"), "address", _("地址"), 300, required=True)),
        ("name", lambda: services._short(values.get("name"), "name", _("姓名"), 60, required=True)),
        ("building", lambda: services._short(values.get("building"), "building", _("楼栋"), 40)),
        ("unit", lambda: services._short(values.get("unit"), "unit", _("单元"), 40)),
        ("room", lambda: services._short(values.get("room"), "room", _("门牌号"), 40)),
        ("floor_area", lambda: services._floor_area(values.get("floor_area"))),
        ("phone", lambda: services.mobile_normalise(values.get("phone"))),
        ("is_owner", lambda: _owner(values.get("is_owner", ""))),
        ("birth_date", lambda: services._birth_date(values.get("birth_date"))),
    ):
        try:
            cleaned[key] = check()
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if values.get("id_number"):
        try:
            parsed = services.id_parse(values["id_number"])
            cleaned["id_number"] = parsed.number
            cleaned["digest"] = services.id_digest(parsed.number)
            if cleaned.get("birth_date") and cleaned["birth_date"] != parsed.birth_date:
                errors["birth_date"] = _("出生日期与身份证号不一致")
        except ValidationFailed as exc:
            errors.update(exc.fields)
    return cleaned, errors


def _household_key(cleaned: dict[str, Any]) -> tuple[str, ...]:
    if cleaned["room"]:
        return ("door", cleaned["building"], cleaned["unit"], cleaned["room"])
    return ("address", cleaned["address"])


def import_rows(rows: list[tuple[int, dict[str, str]]], *, area: Any, actor: Any = None,
                dry_run: bool = False) -> ImportResult:
    """Check every row, then save them all in one transaction — or nothing, if any row is bad (and
    always nothing on a dry run, which still runs every check against the database)."""
    result = ImportResult(rows=len(rows), dry_run=dry_run)
    if area is None or area.level != AreaLevel.COMMUNITY:
        result.errors.append(RowError(0, "", _("请指定要导入的社区（社区代码）")))
        return result
    grids = _grids_of(area)
    # 1. Each row on its own, and the rows against each other.
    cleaned_rows: list[tuple[int, dict[str, Any]]] = []
    households: dict[tuple[str, ...], tuple[int, dict[str, Any]]] = {}
    digests: dict[str, int] = {}
    people: dict[tuple[tuple[str, ...], str], int] = {}
    for number, values in rows:
        cleaned, errors = _row_format(values, grids)
        if cleaned.get("digest"):  # even on a row with other errors: the report names every duplicate
            if cleaned["digest"] in digests:
                errors["id_number"] = _("与第 %(row)s 行的身份证号重复") % {"row": digests[cleaned["digest"]]}
            digests.setdefault(cleaned["digest"], number)
        if not errors:
            key = _household_key(cleaned)
            first = households.setdefault(key, (number, cleaned))
            for column in HOUSEHOLD_COLUMNS:
                if first[0] != number and first[1][column] != cleaned[column] and column != "grid":
                    errors[column] = _("同一住户各行的「%(label)s」不一致（见第 %(row)s 行）") % {
                        "label": LABELS[column], "row": first[0]}
            if first[0] != number and getattr(first[1]["grid"], "pk", None) != getattr(cleaned["grid"], "pk", None):
                errors["grid"] = _("同一住户各行的「网格」不一致（见第 %(row)s 行）") % {"row": first[0]}
            person = (key, cleaned.get("digest") or cleaned["name"])
            if person in people and not cleaned.get("digest"):
                errors["name"] = _("与第 %(row)s 行是同一住户的同名居民（请填写身份证号区分）") % {"row": people[person]}
            people.setdefault(person, number)
        result.errors.extend(RowError(number, f, m) for f, m in errors.items())
        cleaned_rows.append((number, cleaned))
    if result.errors:
        return result
    # 2. Against the database, row by row, in one transaction: every error is collected, then the whole
    # import is rolled back if there was any (or on a dry run).
    with transaction.atomic():
        saved: dict[tuple[str, ...], Household] = {}
        for number, cleaned in cleaned_rows:
            try:
                with transaction.atomic():
                    _save_row(cleaned, area=area, actor=actor, saved=saved, result=result)
            except ValidationFailed as exc:
                result.errors.extend(RowError(number, f, str(m)) for f, m in (exc.fields or {"": exc.message}).items())
        if result.errors or dry_run:
            transaction.set_rollback(True)
    return result


def _save_row(cleaned: dict[str, Any], *, area: Any, actor: Any, saved: dict[tuple[str, ...], Household],
              result: ImportResult) -> None:
    key = _household_key(cleaned)
    household = saved.get(key)
    if household is None:
        household = _household_upsert(cleaned, key=key, area=area, actor=actor, result=result)
        saved[key] = household
    resident = None
    if cleaned.get("digest"):
        resident = Resident.objects.filter(id_digest=cleaned["digest"], active=True).select_related(
            "household__area").first()
        if resident is not None and not resident.household.area.path.startswith(area.path):
            raise ValidationFailed(fields={"id_number": _("该身份证号已登记在其他社区（%(area)s），请先在原社区迁出") % {
                "area": resident.household.area.name}})
    else:
        resident = Resident.objects.filter(household=household, name=cleaned["name"]).first()
    values = {"name": cleaned["name"], "phone": cleaned["phone"], "id_number": cleaned.get("id_number", ""),
              "birth_date": cleaned["birth_date"], "is_owner": cleaned["is_owner"]}
    if resident is None:
        services.resident_add(household=household, actor=actor, action=ChangeAction.IMPORTED, **values)
        result.residents_created += 1
        return
    before = _last_change()
    if resident.id_digest and values["id_number"] and cleaned["digest"] == resident.id_digest:
        values["id_number"] = ""  # the same number: nothing to re-digest
    services.resident_update(resident=resident, actor=actor, household=household, active=True,
                             action=ChangeAction.IMPORTED, **values)
    if _last_change() != before:
        result.residents_updated += 1
    else:
        result.unchanged += 1


def _household_upsert(cleaned: dict[str, Any], *, key: tuple[str, ...], area: Any, actor: Any,
                      result: ImportResult) -> Household:
    qs = Household.objects.filter(area=area)
    if key[0] == "door":
        existing = qs.filter(building=cleaned["building"], unit=cleaned["unit"], room=cleaned["room"]).first()
    else:
        existing = qs.filter(address=cleaned["address"], room="").first()
    building: Any = cleaned["building"]
    if building:
        building = Building.objects.filter(area=area, name=building).first() or building
    values = {"address": cleaned["address"], "grid": cleaned["grid"], "building": building,
              "unit": cleaned["unit"], "room": cleaned["room"], "floor_area": cleaned["floor_area"]}
    if existing is None:
        result.households_created += 1
        return services.household_create(area=area, actor=actor, action=ChangeAction.IMPORTED, **values)
    if existing.grid_id and values["grid"] is None:
        values["grid"] = existing.grid  # a file without the grid column keeps the grid on record
    before = _last_change()
    household = services.household_update(household=existing, actor=actor, action=ChangeAction.IMPORTED, **values)
    if _last_change() != before:
        result.households_updated += 1
    return household


def _last_change() -> int | None:
    """The newest change record's id: an update service that changed nothing writes none."""
    return RecordChange.objects.order_by("-id").values_list("id", flat=True).first()


def report_lines(result: ImportResult) -> list[str]:
    """The report, in Chinese, as the command prints it and the page shows it."""
    lines = [str(error) for error in result.errors]
    summary = _("共 %(rows)s 行：新增住户 %(hc)s 户、更新 %(hu)s 户；新增居民 %(rc)s 人、更新 %(ru)s 人、"
                "未变化 %(same)s 人。") % {"rows": result.rows, "hc": result.households_created,
                                        "hu": result.households_updated, "rc": result.residents_created,
                                        "ru": result.residents_updated, "same": result.unchanged}
    if result.errors:
        lines.append(_("发现 %(n)s 处错误，未保存任何数据。请修改后重新导入。") % {"n": len(result.errors)})
    elif result.dry_run:
        lines.append(_("检查通过（只检查，未保存）。") + summary)
    else:
        lines.append(_("导入完成。") + summary)
    return lines
