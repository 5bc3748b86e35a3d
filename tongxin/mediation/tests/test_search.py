"""The case search never puts its term into a URL (issue: ``?q=<ID number>`` in browser histories).

The page's search box POSTs the term (CSRF), the answer is a 303 to ``/mediation/?search=<random id>``;
the results, their pagination and the filter form carry only that id. A GET with ``?q=`` runs nothing.
The API's search is ``POST /api/v1/mediation/cases/search``; ``GET /mediation/cases?q=`` answers 400
``search_moved_to_post``. Every test below goes through the real views, the real session store and the
real database; the term must not occur in any Location, href, action, src or hx-* attribute."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from tongxin.mediation import views
from tongxin.workorders.tests.test_api import client_for

from .conftest import new_case
from .test_personal_data import assert_no_clear_value

ID = "15060219900101123X"
PHONE = "13812345678"
OTHER_ID = "150602198001015678"
URL_ATTRIBUTES = {"href", "action", "src", "formaction", "hx-get", "hx-post", "hx-push-url", "hx-replace-url",
                  "hx-vals", "hx-include", "data-url"}


class _Attributes(HTMLParser):
    """Every attribute of the page that names a URL or drives htmx, as (tag, name, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in URL_ATTRIBUTES or name.startswith(("hx-", "data-hx")):
                self.found.append((tag, name, value or ""))


def url_attributes(html: str) -> list[tuple[str, str, str]]:
    parser = _Attributes()
    parser.feed(html)
    return parser.found


def variants(term: str) -> set[str]:
    """The term as typed and as it could be rewritten on its way into a URL."""
    from urllib.parse import quote, quote_plus

    plain = {term, term.strip(), term.lower(), term.upper(), "".join(term.split())}
    return {v for t in plain for v in (t, quote(t), quote_plus(t), quote(t, safe="")) if v}


def assert_term_nowhere_in_urls(term: str, response, html: str = "") -> None:
    location = response.get("Location", "")
    for v in variants(term):
        assert v not in location, f"the term is in the Location {location!r}"
    for tag, name, value in url_attributes(html):
        for v in variants(term):
            assert v not in value, f"the term is in <{tag} {name}={value!r}>"


def rows(html: str) -> set[int]:
    """The cases listed in the result table (their links)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return {int(pk) for pk in re.findall(r'href="/mediation/(\d+)/"', body)}


def search(client: Client, term: str, *, expect: int = 303):
    """POST the search box; return (the POST's response, the results page's response, its HTML)."""
    posted = client.post("/mediation/", {"q": term})
    assert posted.status_code == expect, posted.content.decode()[:500]
    if expect != 303:
        return posted, posted, posted.content.decode()
    location = posted["Location"]
    assert re.fullmatch(r"/mediation/\?search=[A-Za-z0-9_-]{16,32}", location), location
    page = client.get(location)
    assert page.status_code == 200
    return posted, page, page.content.decode()


@pytest.fixture
def cases(mw):
    """Four cases of community A and one of town B, each with its own parties."""
    mine = new_case(mw, title="楼上漏水纠纷", parties=[
        {"name": "张三", "phone": PHONE, "id_number": ID.lower()},
        {"name": "李四", "side": "respondent", "phone": "0477-8123456"}])
    again = new_case(mw, title="再次发生的噪音纠纷", parties=[{"name": "张三丰", "id_number": ID}])
    other = new_case(mw, title="停车位纠纷", parties=[
        {"name": "王五", "phone": "13900001111", "id_number": OTHER_ID}])
    plain = new_case(mw, title="宠物扰民", parties=[{"name": "赵六"}])
    there = new_case(mw, by="m_town_b", org=mw.town_b, title="乙街道的漏水纠纷", parties=[
        {"name": "张三", "phone": PHONE, "id_number": ID}])
    return {"mine": mine, "again": again, "other": other, "plain": plain, "there": there}


@pytest.mark.django_db
@pytest.mark.parametrize(("term", "expected"), [
    (ID, {"mine", "again"}),  # the whole ID number, through its keyed digest
    (" " + ID.lower() + " ", {"mine", "again"}),  # spaces and a small x are normalised
    (PHONE, {"mine"}),  # the whole phone, opened and compared (no digest for phones)
    ("138 1234 5678", {"mine"}),
    ("+86 13812345678", {"mine"}),
    ("04778123456", {"mine"}),  # a landline written without its hyphen
    ("李四", {"mine"}),  # a party's name
    ("张三", {"mine", "again"}),  # … or part of it (张三丰)
    ("停车位", {"other"}),  # words of the title
])
def test_search_by_id_number_phone_name_and_title_through_post(mw, cases, term, expected):
    client = client_for(mw, "m_comm")
    posted, page, html = search(client, term)
    assert rows(html) == {cases[name].pk for name in expected}
    assert_term_nowhere_in_urls(term, posted, html)
    assert_term_nowhere_in_urls(term, page, html)
    assert page["Cache-Control"] == "no-store"
    if term.strip().upper() in (ID, PHONE):
        assert_no_clear_value(html)  # an ID number or a phone is not even echoed: the page shows it masked
        assert "150*************3X" in html or "138****5678" in html


@pytest.mark.django_db
def test_search_by_case_number(mw, cases):
    number = cases["other"].number
    posted, _page, html = search(client_for(mw, "m_comm"), number)
    assert rows(html) == {cases["other"].pk}
    assert_term_nowhere_in_urls(number, posted, html)  # the number is in the row's text, never in a URL


@pytest.mark.django_db
def test_partial_numbers_match_nothing(mw, cases):
    client = client_for(mw, "m_comm")
    assert rows(search(client, ID[:17])[2]) == set()
    assert rows(search(client, PHONE[3:])[2]) == set()  # the last eight digits of the phone


@pytest.mark.django_db
def test_a_case_outside_the_jurisdiction_is_not_found(mw, cases):
    assert rows(search(client_for(mw, "m_comm"), ID)[2]) == {cases["mine"].pk, cases["again"].pk}
    assert rows(search(client_for(mw, "m_town_b"), ID)[2]) == {cases["there"].pk}
    assert rows(search(client_for(mw, "m_town_b"), PHONE)[2]) == {cases["there"].pk}
    assert rows(search(client_for(mw, "m_town_b"), "李四")[2]) == set()
    assert rows(search(client_for(mw, "m_city"), ID)[2]) == {cases["mine"].pk, cases["again"].pk, cases["there"].pk}
    assert rows(search(client_for(mw, "leader"), ID)[2]) == {cases["mine"].pk, cases["again"].pk, cases["there"].pk}
    assert client_for(mw, "dispatcher").post("/mediation/", {"q": ID}).status_code == 404  # no mediation role
    assert client_for(mw, "nobody").post("/mediation/", {"q": ID}).status_code == 404
    anonymous = Client().post("/mediation/", {"q": ID})
    assert anonymous.status_code == 302 and ID not in anonymous["Location"]


@pytest.mark.django_db
def test_a_get_with_q_does_not_search(mw, cases):
    client = client_for(mw, "m_comm")
    response = client.get("/mediation/", {"q": ID, "status": "received"})
    assert response.status_code == 302
    assert response["Location"] == "/mediation/?status=received"  # the filters stay, the term goes
    page = client.get(response["Location"]).content.decode()
    assert "搜索内容不再放在网址中" in page
    visible = {c.pk for name, c in cases.items() if name != "there"}
    assert rows(page) == visible  # the whole list: nothing was searched
    assert_no_clear_value(page)
    assert rows(client.get("/mediation/", {"q": ID}, follow=True).content.decode()) == visible


@pytest.mark.django_db
@pytest.mark.parametrize(("term", "reason"), [
    ("", "请填写搜索内容"),
    ("   ", "请填写搜索内容"),
    ("张" * 51, "搜索内容最多 50 个字符（现有 51 个）"),
])
def test_an_empty_or_too_long_term_names_the_field(mw, cases, term, reason):
    posted, _page, html = search(client_for(mw, "m_comm"), term, expect=422)
    assert reason in html and "field-error" in html
    assert 'name="q"' in html and 'value="' + term + '"' not in html.replace('value=""', "")
    assert "Location" not in posted
    if term.strip():
        assert term not in html  # the reason, not the term


@pytest.mark.django_db
def test_pagination_carries_only_the_search_id(mw):
    made = [new_case(mw, title=f"第 {i} 起漏水纠纷", parties=[{"name": "周八", "phone": "13700000000"}])
            for i in range(32)]
    new_case(mw, title="无关的纠纷", parties=[{"name": "吴九"}])
    client = client_for(mw, "m_comm")
    posted, page, html = search(client, "13700000000")
    sid = posted["Location"].split("search=")[1]
    assert len(rows(html)) == 30
    links = [value for _tag, name, value in url_attributes(html) if name == "href" and "page=" in value]
    assert links == [f"?search={sid}&page=2"]
    assert_term_nowhere_in_urls("13700000000", page, html)
    second = client.get("/mediation/" + links[0]).content.decode()
    assert rows(html) | rows(second) == {c.pk for c in made}
    assert [v for _t, n, v in url_attributes(second) if n == "href" and "page=" in v] == [f"?search={sid}&page=1"]
    assert_term_nowhere_in_urls("13700000000", page, second)
    # the filter form (GET) keeps the search: filtering narrows the results, the URL still holds only the id
    assert f'<input type="hidden" name="search" value="{sid}">' in html
    filtered = client.get("/mediation/", {"search": sid, "status": "mediating"}).content.decode()
    assert rows(filtered) == set()


@pytest.mark.django_db
def test_the_search_id_is_this_sessions_and_expires(mw, cases):
    client = client_for(mw, "m_comm")
    location = search(client, ID)[0]["Location"]
    other_session = client_for(mw, "m_comm")  # the same person on another computer, or a copied link
    response = other_session.get(location)
    assert response.status_code == 302 and response["Location"] == "/mediation/"
    assert "这次搜索已过期" in other_session.get("/mediation/").content.decode()
    assert client.get("/mediation/?search=not-a-search-id-at-all").status_code == 302
    session = client.session
    sid = location.split("search=")[1]
    stored = session[views.SEARCH_SESSION_KEY]
    stored[sid][1] -= views.SEARCH_TTL_SECONDS + 1
    session[views.SEARCH_SESSION_KEY] = stored
    session.save()
    assert client.get(location).status_code == 302  # older than the TTL


@pytest.mark.django_db
def test_the_session_keeps_the_term_sealed_and_only_the_last_searches(mw, cases):
    client = client_for(mw, "m_comm")
    search(client, ID)
    search(client, PHONE)
    raw = repr(list(Session.objects.values_list("session_data", flat=True)))
    decoded = repr([s.get_decoded() for s in Session.objects.all()])
    assert_no_clear_value(raw)
    assert_no_clear_value(decoded)  # the session row holds the sealed term, not the number
    for i in range(views.SEARCH_KEEP + 3):
        search(client, f"纠纷{i}")
    assert len(client.session[views.SEARCH_SESSION_KEY]) == views.SEARCH_KEEP


@pytest.mark.django_db
def test_the_search_form_needs_its_csrf_token(mw, cases):
    client = Client(enforce_csrf_checks=True)
    client.force_login(mw.user("m_comm"))
    html = client.get("/mediation/").content.decode()
    assert client.post("/mediation/", {"q": ID}).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert client.post("/mediation/", {"q": ID, "csrfmiddlewaretoken": token}).status_code == 303
    form = re.search(r'<form[^>]*data-search-form[^>]*>', html).group(0)
    assert 'method="post"' in form and 'action="/mediation/"' in form


# --- the API ------------------------------------------------------------------------------------

def api_search(client: Client, body: dict):
    return client.post("/api/v1/mediation/cases/search", body, content_type="application/json")


@pytest.mark.django_db
def test_api_search_takes_the_term_in_the_body(mw, cases):
    api = client_for(mw, "m_comm")
    found = {t: {i["id"] for i in api_search(api, {"q": t}).json()["items"]}
             for t in (ID, PHONE, "李四", cases["other"].number)}
    assert found == {ID: {cases["mine"].pk, cases["again"].pk}, PHONE: {cases["mine"].pk},
                     "李四": {cases["mine"].pk}, cases["other"].number: {cases["other"].pk}}
    assert api_search(api, {"q": ID, "status": "mediating"}).json() == {"count": 0, "items": []}
    paged = api_search(api, {"q": "张三", "limit": 1, "offset": 1}).json()
    assert paged["count"] == 2 and len(paged["items"]) == 1
    outside = api_search(client_for(mw, "m_town_b"), {"q": ID}).json()
    assert {i["id"] for i in outside["items"]} == {cases["there"].pk}


@pytest.mark.django_db
@pytest.mark.parametrize(("q", "reason"), [("", "请填写搜索内容"), ("  ", "请填写搜索内容"),
                                           ("1" * 51, "搜索内容最多 50 个字符（现有 51 个）")])
def test_api_search_refuses_an_empty_or_too_long_term(mw, q, reason):
    r = api_search(client_for(mw, "m_comm"), {"q": q})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert reason in r.json()["fields"]["q"]


@pytest.mark.django_db
def test_api_search_with_a_nul_is_refused_at_the_door(mw):
    r = api_search(client_for(mw, "m_comm"), {"q": "张\x00三"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_characters"


@pytest.mark.django_db
def test_api_get_with_q_is_refused_and_names_the_change(mw, cases):
    api = client_for(mw, "m_comm")
    r = api.get("/api/v1/mediation/cases", {"q": ID})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "search_moved_to_post" and "POST /api/v1/mediation/cases/search" in body["message"]
    assert ID not in r.content.decode()
    listed = api.get("/api/v1/mediation/cases").json()  # the list without a term still answers
    assert listed["count"] == 4
