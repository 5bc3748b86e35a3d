"""The order page's workbench parts: the deliberate, audited reveal of the citizen; related orders (same
caller, same place) within the viewer's jurisdiction; attachments with image previews; the map data."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tongxin.core.models import AuditEvent
from tongxin.testing import real_png
from tongxin.workorders import services as wo

from .conftest import login

pytestmark = pytest.mark.django_db

PNG = real_png()


def _order(world, **kw):
    args = {"channel": "hotline", "kind": "complaint", "content": "小区门口垃圾三天没人清理", "category_code": "C010101",
            "lat": 37.1, "lng": 107.1, "citizen_name": "张三", "citizen_phone": "13812345678", **kw}
    return wo.work_order_create(actor=world.user("operator"), **args)


def test_reveal_is_deliberate_audited_and_role_bound(client, world):
    order = _order(world)
    wo.work_order_dispatch(order_id=order.pk, actor=world.user("dispatcher"))
    login(client, "operator")
    html = client.get(f"/orders/{order.pk}/").content.decode()
    assert "13812345678" not in html and "张三" not in html and 'id="reveal-button"' in html
    assert AuditEvent.objects.filter(event_type="personal_data_reveal").count() == 0  # viewing reveals nothing
    response = client.post(f"/orders/{order.pk}/reveal/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "13812345678" in response.content.decode() and "张三" in response.content.decode()
    event = AuditEvent.objects.get(event_type="personal_data_reveal")
    assert event.actor_id == world.user("operator").pk and event.object_id == str(order.pk)
    assert event.data["via"] == "page"
    assert client.get(f"/orders/{order.pk}/reveal/").status_code == 405  # a GET (a prefetch, a crawler) never reveals
    # The lead department's handler may; a co-handler, a leader may see the order but not the citizen.
    login(client, "handler")
    assert client.post(f"/orders/{order.pk}/reveal/").status_code == 200
    for username in ("water_handler", "leader"):
        login(client, username)
        page = client.get(f"/orders/{order.pk}/").content.decode()
        assert 'id="reveal-button"' not in page, username
        assert client.post(f"/orders/{order.pk}/reveal/").status_code == 403, username
    login(client, "dispatcher_b")  # outside the jurisdiction: 404, nothing audited
    assert client.post(f"/orders/{order.pk}/reveal/").status_code == 404
    assert AuditEvent.objects.filter(event_type="personal_data_reveal").count() == 2


def test_anonymous_orders_offer_no_reveal(client, world):
    order = _order(world, anonymous=True)
    login(client, "operator")
    assert 'id="reveal-button"' not in client.get(f"/orders/{order.pk}/").content.decode()


def test_related_orders_same_caller_and_same_place(client, world):
    order = _order(world)
    caller = _order(world, content="上个月反映过的路灯", lat=37.9, lng=107.9)  # same phone, far away
    place = _order(world, citizen_phone="13900000000", content="同一小区门口的垃圾", lat=37.1005, lng=107.1005)
    far = _order(world, citizen_phone="13900000001", content="远处的事", lat=37.5, lng=107.5)
    hidden = _order(world, citizen_phone="13812345678", area_code="150603001", lat=None, lng=None)  # district B
    login(client, "dispatcher")
    html = client.get(f"/orders/{order.pk}/").content.decode()
    related = html[html.index('id="related"'):]
    caller_part, place_part = related.split("同一地点")
    assert caller.number in caller_part and hidden.number in caller_part
    assert place.number in place_part and far.number not in related
    login(client, "operator")
    # A district-A-only view: the district-B order stays out of sight.
    from tongxin.accounts.models import User
    from tongxin.accounts.services import role_grant

    district_a_operator = User.objects.create_user(username="op_a", password="x" * 12)
    role_grant(user=district_a_operator, role="operator", area=world.district_a)
    client.force_login(district_a_operator)
    html = client.get(f"/orders/{order.pk}/").content.decode()
    assert caller.number in html and hidden.number not in html


def test_a_related_order_without_title_or_category_is_listed(client, world):
    from tongxin.workorders.models import WorkOrder

    order = _order(world)
    bare = _order(world, content="又来反映")
    WorkOrder.objects.filter(pk=bare.pk).update(title="", category=None)  # as an old or merged order can be
    login(client, "dispatcher")
    response = client.get(f"/orders/{order.pk}/")
    assert response.status_code == 200 and bare.number in response.content.decode()


def test_attachments_are_listed_with_image_previews_and_the_map_data(client, world, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    order = _order(world)
    wo.attachment_add(order_id=order.pk, actor=world.user("operator"),
                      upload=SimpleUploadedFile("现场.png", PNG, content_type="image/png"))
    login(client, "operator")
    html = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'class="attachment-thumb"' in html and "现场.png" in html
    start = html.index('id="order-map-data"')
    data = json.loads(html[html.index(">", start) + 1:html.index("</script>", start)])
    assert data["point"] == [37.1, 107.1] and data["boundary"]["type"] in ("Polygon", "Feature", "MultiPolygon")


def test_the_order_page_reads_related_orders_without_a_query_each(client, world, django_assert_max_num_queries):
    order = _order(world)
    for n in range(6):  # same caller, same place: both lists filled
        _order(world, content=f"第{n}次反映门口垃圾", lat=37.1002, lng=107.1002)
    login(client, "operator")
    client.get(f"/orders/{order.pk}/")  # warm the per-process caches
    with django_assert_max_num_queries(15):  # 19 with a query per related order
        assert client.get(f"/orders/{order.pk}/").status_code == 200
