"""Report exports follow the language of the request that downloads them (docs/i18n.md): sheet names,
headings and the definitions in English for an English user; the codes in the definitions sheet stay."""

from __future__ import annotations

import io

from .test_pages import client_for


def test_the_excel_report_in_english(world, city) -> None:
    from openpyxl import load_workbook

    c = client_for("leader")
    response = c.get("/dashboard/reports/xlsx/?area=150600&kind=monthly&date=2026-11-15",
                     headers={"accept-language": "en"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[0] == "Summary" and "Indicator definitions" in book.sheetnames
    assert {"By area", "By department", "By category", "By channel", "Daily"} <= set(book.sheetnames)
    rows = list(book["Indicator definitions"].iter_rows(values_only=True))
    assert rows[0] == ("Indicator", "Code", "Definition")
    assert "accepted" in {row[1] for row in rows[1:]}
    assert book["Summary"]["A2"].value.startswith("This period: 2026-11-01 to 2026-11-30; previous period: ")
    summary = next(iter(book["Summary"].iter_rows(min_row=5, max_row=5, values_only=True)))
    assert summary[1] == 6  # the numbers do not depend on the language
