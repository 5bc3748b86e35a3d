"""The dashboard's pages: who sees what (a district leader sees the district; others 404), every number's
link lists exactly that many rows, the map's boundaries, the reports (Excel with a definitions sheet,
printable page, the periodic job and the scoped download list)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.test import Client

from tongxin.testing import PASSWORD

pytestmark = pytest.mark.django_db


def client_for(username: str) -> Client:
    c = Client()
    assert c.login(username=username, password=PASSWORD)
    return c


def numbers(node: Any) -> list[tuple[int, str]]:
    """Every (value, href) pair in the screen's data."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("value"), int) and isinstance(node.get("href"), str) and "/dashboard/orders/" in node["href"]:
            found.append((node["value"], node["href"]))
        for value in node.values():
            found += numbers(value)
    elif isinstance(node, list):
        for value in node:
            found += numbers(value)
    return found


def listed(client: Client, href: str) -> int:
    response = client.get(href)
    assert response.status_code == 200, href
    match = re.search(r'data-count="(\d+)"', response.content.decode())
    assert match, href
    return int(match.group(1))


def test_pages_render_for_the_city_leader(world, city) -> None:
    c = client_for("leader")
    for url in ("/dashboard/", "/dashboard/screen/", "/dashboard/?period=day", "/dashboard/?area=150602001"):
        response = c.get(url)
        assert response.status_code == 200, url
        assert "测试市" in response.content.decode()
    page = c.get("/dashboard/").content.decode()
    assert 'id="dash-data"' in page and "vendor/echarts.min.js" in page and "<script>" not in page
    data = c.get("/dashboard/data/").json()
    assert data["volume"]["accepted"]["value"] == 6  # the withdrawn order does not count
    assert {r["name"] for r in data["map"]["children"]} == {"甲区", "乙区"}
    assert c.get("/dashboard/screen/", HTTP_HX_REQUEST="true").content.decode().startswith('<div id="screen-body"')


def test_a_district_leader_sees_the_district_only(world, city) -> None:
    c = client_for("leader_b")
    data = c.get("/dashboard/data/").json()
    assert data["area"]["code"] == "150603"
    assert data["volume"]["accepted"]["value"] == 2
    assert {r["name"] for r in data["map"]["children"]} == {"乙街道"}
    assert c.get("/dashboard/data/?area=150603001").status_code == 200
    for url in ("/dashboard/?area=150602", "/dashboard/?area=150600", "/dashboard/orders/?area=150602&metric=accepted",
                "/dashboard/geo/?area=150600", "/dashboard/reports/xlsx/?area=150600&kind=daily",
                "/dashboard/?area=nonexistent"):
        assert c.get(url).status_code == 404, url
    # A district dispatcher likewise.
    assert client_for("dispatcher_b").get("/dashboard/data/").json()["area"]["code"] == "150603"


@pytest.mark.parametrize("username", ["handler", "operator", "grid_worker", "nobody"])
def test_others_get_404(world, city, username) -> None:
    c = client_for(username)
    for url in ("/dashboard/", "/dashboard/screen/", "/dashboard/data/", "/dashboard/geo/", "/dashboard/insight/",
                "/dashboard/orders/?metric=accepted", "/dashboard/reports/", "/dashboard/reports/print/",
                "/dashboard/reports/xlsx/", "/dashboard/reports/file/150600/daily-2026-11-30.xlsx"):
        assert c.get(url).status_code == 404, url


def test_anonymous_is_sent_to_login(world) -> None:
    response = Client().get("/dashboard/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("username,period", [("admin", "month"), ("leader_b", "day"), ("supervisor", "week")])
def test_every_number_links_to_a_list_of_that_many(world, city, username, period) -> None:
    c = client_for(username)
    data = c.get(f"/dashboard/data/?period={period}").json()
    pairs = numbers(data)
    assert len(pairs) > 20
    assert any(value > 0 for value, _href in pairs)
    for value, href in pairs:
        assert listed(c, href) == value, href


def test_drill_down_links_and_breakdowns(world, city) -> None:
    c = client_for("admin")
    data = c.get("/dashboard/data/?area=150602001").json()  # town A
    assert data["departments"] and data["departments"][0]["label"] == "甲区住建局"
    grid = c.get("/dashboard/data/?area=150602001001G01").json()
    assert grid["channels"] is None and grid["volume"]["accepted"]["value"] == 4
    geo = c.get("/dashboard/geo/").json()
    assert geo["type"] == "FeatureCollection" and {f["properties"]["name"] for f in geo["features"]} == {"甲区", "乙区"}


def test_gauges_without_mediation_data_say_so(world, city) -> None:
    page = client_for("leader").get("/dashboard/").content.decode()
    assert "暂无数据" in page and "不出村（社区）" in page


def test_insight_fragment(world, city) -> None:
    response = client_for("leader").get("/dashboard/insight/")
    assert response.status_code == 200
    assert "热点预警与热词" in response.content.decode()


def test_excel_report_has_the_definitions_sheet(world, city) -> None:
    from openpyxl import load_workbook

    c = client_for("leader")
    response = c.get("/dashboard/reports/xlsx/?area=150600&kind=monthly&date=2026-11-15")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[0] == "概要" and "指标定义" in book.sheetnames
    assert {"分区域", "分承办单位", "分类别", "分渠道", "每日"} <= set(book.sheetnames)
    definitions = [row[1] for row in book["指标定义"].iter_rows(min_row=2, values_only=True)]
    assert {"sign_on_time_rate", "on_time_rate", "completion_rate", "satisfaction_rate", "return_rate",
            "repeat_rate", "accepted", "overdue"} <= set(definitions)
    summary = next(iter(book["概要"].iter_rows(min_row=5, max_row=5, values_only=True)))
    assert summary[1] == 6  # accepted this month
    daily = c.get("/dashboard/reports/xlsx/?area=150602&kind=daily&date=2026-11-30&department="
                  f"{world.housing.pk}")
    assert load_workbook(io.BytesIO(daily.content))["概要"]["B5"].value == 4
    printable = c.get("/dashboard/reports/print/?area=150600&kind=weekly&date=2026-11-30").content.decode()
    assert "指标定义" in printable and "按时办结率" in printable and "测试市" in printable


def test_periodic_reports_are_written_and_listed_in_scope(world, city, settings, tmp_path) -> None:
    from datetime import date

    from tongxin.dashboard.reports import due_reports, reports_generate

    settings.VAR_DIR = tmp_path
    assert [k for k, _d in due_reports(date(2026, 12, 1))] == ["daily", "monthly"]  # a Tuesday, the 1st
    assert [k for k, _d in due_reports(date(2026, 11, 30))] == ["daily", "weekly"]  # a Monday
    written = reports_generate(today=date(2026, 12, 1))
    assert {p.parent.name for p in written} == {"150600", "150602", "150603"}
    assert (tmp_path / "reports" / "150600" / "monthly-2026-11-01.xlsx").is_file()
    leader_b = client_for("leader_b")
    page = leader_b.get("/dashboard/reports/").content.decode()
    assert "daily-2026-11-30.xlsx" in page and "/150603/" in page and "/150600/" not in page
    assert leader_b.get("/dashboard/reports/file/150603/daily-2026-11-30.xlsx").status_code == 200
    assert leader_b.get("/dashboard/reports/file/150600/daily-2026-11-30.xlsx").status_code == 404
    assert leader_b.get("/dashboard/reports/file/150603/..%2Fsecret.xlsx").status_code == 404
    assert client_for("leader").get("/dashboard/reports/file/150600/monthly-2026-11-01.xlsx").status_code == 200


def test_nav_entry(world) -> None:
    from tongxin.web.templatetags.workbench import workbench_entries

    assert "dashboard" in {e["key"] for e in workbench_entries(world.user("leader"))}
    assert "dashboard" not in {e["key"] for e in workbench_entries(world.user("handler"))}


def test_gauges_when_the_mediation_app_is_missing(world, city, monkeypatch) -> None:
    import sys
    from datetime import date

    from tongxin.dashboard.selectors import mediation_gauges, period_to_date

    monkeypatch.setitem(sys.modules, "tongxin.mediation.selectors", None)  # import now raises ImportError
    assert mediation_gauges(world.user("leader"), world.city, period_to_date("month", date(2026, 11, 30))) is None
    page = client_for("leader").get("/dashboard/").content.decode()
    assert page.count("暂无数据") >= 4


def test_the_gauges_link_to_the_cases_behind_them(world, client) -> None:
    """Each gauge's numerator and denominator open the mediation case list with the same filters, and
    the list shows as many cases as the number says."""
    import re
    from datetime import date

    from tongxin.dashboard.selectors import mediation_gauges, period_to_date
    from tongxin.mediation import services as m
    from tongxin.mediation.tests.conftest import build_mediation_world, new_case

    mw = build_mediation_world(world)
    agreed = new_case(mw)
    m.case_mediate(case_id=agreed.pk, actor=mw.user("m_comm"))
    m.case_agree(case_id=agreed.pk, actor=mw.user("m_comm"), text="协议")
    failed = new_case(mw)
    m.case_mediate(case_id=failed.pk, actor=mw.user("m_comm"))
    m.case_fail(case_id=failed.pk, actor=mw.user("m_comm"), guidance="litigation", note="调解不成")
    gauges = mediation_gauges(world.user("leader"), world.city, period_to_date("year", date.today()))
    assert gauges
    client.force_login(world.user("leader"))
    for gauge in gauges:
        for number, url in ((gauge["numerator"], gauge["numerator_url"]), (gauge["denominator"], gauge["denominator_url"])):
            html = client.get(url).content.decode()
            shown = len(set(re.findall(r'href="/mediation/(\d+)/"', html)))
            assert shown == number, (gauge["key"], url, number, shown)
