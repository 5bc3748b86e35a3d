"""The first pages over real HTTP (Django's test client) and the real database: login, home per role,
the order list and the order page scoped to the user's jurisdiction."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tongxin.testing import PASSWORD
from tongxin.workorders import services as wo


def login(client, username: str) -> None:
    assert client.login(username=username, password=PASSWORD)


@pytest.fixture
def orders(world):
    """One order in district A (grid A, dispatched to A's housing bureau) and one in district B."""
    a = wo.work_order_create(
        actor=world.user("operator"), channel="hotline", kind="complaint", content="小区门口垃圾三天没人清理",
        category_code="C010101", lat=37.1, lng=107.1, citizen_name="张三", citizen_phone="13812345678",
    )
    wo.work_order_dispatch(order_id=a.pk, actor=world.user("dispatcher"))
    b = wo.work_order_create(
        actor=world.user("operator"), channel="web", kind="suggestion", content="建议学校门口增设减速带",
        category_code="C02", lat=37.5, lng=109.5, citizen_name="李四", citizen_phone="13900001111",
    )
    return {"a": a, "b": b}


@pytest.mark.django_db
def test_login_page_renders_in_chinese(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="zh-Hans"' in html
    assert "登录同心平台" in html and "用户名" in html and "密码" in html
    assert "/static/web/site.css" in html
    assert "https://" not in html  # no CDN, no external font


@pytest.mark.django_db
def test_login_page_in_english_after_set_language(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    html = client.get("/accounts/login/").content.decode()
    assert 'lang="en"' in html and "Sign in to Tongxin" in html and "Username" in html


@pytest.mark.django_db
def test_login_and_logout_flow(client, world):
    response = client.post("/accounts/login/", {"username": "operator", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/"
    assert "您好" in client.get("/").content.decode()
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response.url == "/accounts/login/"
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_wrong_password_says_why_in_chinese(client, world):
    response = client.post("/accounts/login/", {"username": "operator", "password": "wrong-password"})
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()


@pytest.mark.django_db
def test_pages_need_login(client):
    for url in ("/", "/orders/", "/orders/1/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "role_label", "present", "absent"),
    [
        ("operator", "话务员", ["/orders/?status=accepted", "/api/v1/docs", "/orders/"], ["/admin/", "待签收"]),
        ("handler", "承办人", ["/orders/?status=dispatched", "甲区住建局"], ["/admin/", "待派单"]),
        ("grid_worker", "网格员", ["/orders/", "甲一网格"], ["/admin/"]),
        ("leader", "领导", ["/orders/?status=replied", "/api/v1/docs"], ["/admin/"]),
        ("supervisor", "督办员", ["/orders/?status=accepted", "/orders/?status=replied"], ["/admin/"]),
    ],
)
def test_home_page_per_role(client, world, username, role_label, present, absent):
    login(client, username)
    html = client.get("/").content.decode()
    assert username in html and role_label in html
    for text in present:
        assert text in html, text
    for text in absent:
        assert text not in html, text


@pytest.mark.django_db
def test_home_page_of_a_staff_superuser_links_to_the_admin(client, world):
    admin = get_user_model().objects.create_superuser("root", password=PASSWORD)
    client.force_login(admin)
    html = client.get("/").content.decode()
    assert 'href="/admin/"' in html and "超级用户" in html


@pytest.mark.django_db
def test_order_list_is_scoped_and_masks_phones(client, world, orders):
    login(client, "dispatcher")  # the whole city
    html = client.get("/orders/").content.decode()
    assert orders["a"].number in html and orders["b"].number in html
    assert "13812345678" not in html and "138****5678" in html
    assert "张三" not in html and "张*" in html
    login(client, "dispatcher_b")  # district B only
    html = client.get("/orders/").content.decode()
    assert orders["b"].number in html and orders["a"].number not in html
    login(client, "handler")  # district A housing bureau: the order dispatched to it
    html = client.get("/orders/").content.decode()
    assert orders["a"].number in html and orders["b"].number not in html
    login(client, "nobody")
    html = client.get("/orders/").content.decode()
    assert "没有符合条件的工单" in html


@pytest.mark.django_db
def test_order_list_filters_by_status_and_keyword(client, world, orders):
    login(client, "dispatcher")
    html = client.get("/orders/", {"status": "dispatched"}).content.decode()
    assert orders["a"].number in html and orders["b"].number not in html
    html = client.get("/orders/", {"q": "减速带"}).content.decode()
    assert orders["b"].number in html and orders["a"].number not in html
    # An unknown status is ignored rather than an error.
    assert client.get("/orders/", {"status": "nonsense", "page": "999"}).status_code == 200


@pytest.mark.django_db
def test_order_list_paginates(client, world):
    for index in range(30):
        wo.work_order_create(actor=world.user("operator"), channel="hotline", kind="inquiry",
                             content=f"咨询第{index}号问题", lat=37.1, lng=107.1)
    login(client, "operator")
    first = client.get("/orders/").content.decode()
    assert "共 30 张工单" in first and "第 1 / 2 页" in first and "page=2" in first
    second = client.get("/orders/", {"page": 2}).content.decode()
    assert "第 2 / 2 页" in second


@pytest.mark.django_db
def test_order_page_shows_fields_sla_and_timeline(client, world, orders):
    login(client, "operator")
    response = client.get(f"/orders/{orders['a'].pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert orders["a"].number in html and "小区门口垃圾三天没人清理" in html
    assert "城乡建设 / 市政管理 / 垃圾清理" in html
    assert "测试市 / 甲区 / 甲街道 / 甲社区 / 甲一网格" in html
    assert "甲区住建局" in html and "市水务公司" in html  # lead and co-handler from the catalogue
    assert "sla-normal" in html  # both clocks run and are green
    timeline = html[html.index('id="timeline"'):]
    assert timeline.index("受理") < timeline.index("派单") < timeline.index("已派单待签收")  # in order
    assert "138****5678" in html and "13812345678" not in html


@pytest.mark.django_db
def test_order_page_outside_jurisdiction_is_404(client, world, orders):
    login(client, "dispatcher_b")
    assert client.get(f"/orders/{orders['a'].pk}/").status_code == 404
    assert client.get(f"/orders/{orders['b'].pk}/").status_code == 200
    login(client, "edu_handler")  # district B's education bureau holds neither order
    assert client.get(f"/orders/{orders['a'].pk}/").status_code == 404
    assert client.get("/orders/999999/").status_code == 404
