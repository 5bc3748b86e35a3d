"""The case search in a real browser (Chromium through Playwright against the live server): a search by ID
number leaves the number in no address the browser keeps — not after the search, not on the case page, not
after going back (which must not ask to resubmit a form) — and ``?q=`` typed into the address bar searches
nothing. Screenshots in var/screenshots/mediation-search*.png."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from tongxin.web.tests.conftest import screenshot

from .conftest import build_mediation_world, new_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ID = "15060219900101123X"
PHONE = "13912345678"


def assert_clean(url: str) -> None:
    for value in (ID, ID.lower(), PHONE, "巴特尔"):
        assert value not in unquote(url), f"{value} in {url}"


def test_search_keeps_the_term_out_of_every_address(browser_page, login_as, world):
    mw = build_mediation_world(world)
    case = new_case(mw, title="草场网围栏纠纷", parties=[{"name": "巴特尔", "phone": PHONE, "id_number": ID}])
    other = new_case(mw, title="停车位纠纷", parties=[{"name": "其其格"}])
    page = browser_page
    login_as(page, "m_comm")
    page.goto(f"{page.base_url}/mediation/")
    page.fill("form[data-search-form] [name=q]", ID.lower())
    page.click("form[data-search-form] button[type=submit]")
    page.wait_for_url("**/mediation/?search=*")
    assert_clean(page.url)
    table = page.locator("table").inner_text()
    assert case.number in table and other.number not in table
    assert "150*************3X" in page.locator("[data-search-active]").inner_text()
    assert ID not in page.content() and ID.lower() not in page.content()  # not even echoed into the box
    screenshot(page, "mediation-search")

    page.click(f"a:text('{case.number}')")
    page.wait_for_url(f"**/mediation/{case.pk}/")
    page.go_back()  # Post/Redirect/Get: back is a GET of ?search=<id>, no "resubmit the form?"
    page.wait_for_load_state()
    assert "search=" in page.url and case.number in page.locator("table").inner_text()
    assert_clean(page.url)

    page.fill("form[data-search-form] [name=q]", PHONE)
    page.click("form[data-search-form] button[type=submit]")
    page.wait_for_url("**/mediation/?search=*")
    assert_clean(page.url)
    assert case.number in page.locator("table").inner_text()

    page.fill("form[data-search-form] [name=q]", "   ")  # passes the browser's `required`, not the server
    page.click("form[data-search-form] button[type=submit]")
    page.wait_for_load_state()
    assert "请填写搜索内容" in page.locator(".field-error").inner_text()
    assert_clean(page.url)
    screenshot(page, "mediation-search-empty")

    page.goto(f"{page.base_url}/mediation/?q={ID}")  # an old bookmark: nothing is searched
    assert_clean(page.url)
    assert "不再放在网址中" in page.content()
    table = page.locator("table").inner_text()
    assert case.number in table and other.number in table
    screenshot(page, "mediation-search-get-q")
