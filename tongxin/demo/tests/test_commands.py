"""The import commands on the data files shipped in the project: `tongxin regions import-geojson`,
`tongxin regions import-towns`, `tongxin workorders import-taxonomy`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import Point, shape

from tongxin.demo.places import DISTRICTS_FILE, TOWNS_FILE
from tongxin.regions.choices import AreaLevel
from tongxin.regions.models import Area
from tongxin.regions.services import area_upsert
from tongxin.workorders.models import Category, SlaPolicy


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_import_districts_then_towns_idempotently():
    area_upsert(code="150600", name="鄂尔多斯市", level=AreaLevel.CITY, parent=None)
    text = run("regions", "import-geojson", str(DISTRICTS_FILE), "--level", "district", "--parent", "150600",
               "--crs", "gcj02")
    assert "新增 9" in text
    dongsheng = Area.objects.get(code="150602")
    assert dongsheng.name == "东胜区" and dongsheng.level == AreaLevel.DISTRICT
    # Stored in WGS-84: the GCJ-02 shift (a few hundred metres here) was taken out.
    assert shape(dongsheng.boundary).contains(Point(109.98, 39.81))
    assert "更新 9" in run("regions", "import-geojson", str(DISTRICTS_FILE), "--level", "district",
                            "--parent", "150600", "--crs", "gcj02")
    assert Area.objects.filter(level=AreaLevel.DISTRICT).count() == 9
    assert "新增 88" in run("regions", "import-towns", str(TOWNS_FILE), "--city", "150600")
    assert "更新 88" in run("regions", "import-towns", str(TOWNS_FILE), "--city", "150600")
    assert Area.objects.get(code="150603001").parent.code == "150603"


@pytest.mark.django_db
def test_import_errors_are_clear():
    with pytest.raises(CommandError, match="上级区域 150600 不存在"):
        run("regions", "import-geojson", str(DISTRICTS_FILE), "--level", "district", "--parent", "150600")
    with pytest.raises(CommandError, match="文件不存在"):
        run("regions", "import-towns", "/nonexistent.csv", "--city", "150600")
    area_upsert(code="150600", name="鄂尔多斯市", level=AreaLevel.CITY, parent=None)
    with pytest.raises(CommandError, match="区县 150602 不存在"):  # towns before their districts
        run("regions", "import-towns", str(TOWNS_FILE), "--city", "150600")


@pytest.mark.django_db
def test_import_taxonomy():
    text = run("workorders", "import-taxonomy")
    assert Category.objects.filter(level=1).count() == 15
    assert Category.objects.get(code="C01").name == "城乡建设"
    assert SlaPolicy.objects.filter(is_default=True).exists()
    assert "新增" in text
    total = Category.objects.count()
    run("workorders", "import-taxonomy")
    assert Category.objects.count() == total
