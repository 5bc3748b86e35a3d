"""No personal data leaves through any GET endpoint, whatever the format; phone-like digits and the
citizen's own name are masked inside free text; hostile text is escaped, never markup."""

from __future__ import annotations

import pytest

from tongxin.open311.models import Service
from tongxin.open311.selectors import public_text
from tongxin.workorders import services as s

from .conftest import BASE, CITIZEN, PERSONAL_STRINGS, REQUEST_FIELDS, drive, json_body, post_order, xml_root


def every_get(client, order, fmt: str) -> list[bytes]:
    token = order.open311_request.token if hasattr(order, "open311_request") else "none"
    paths = ["discovery", "services", "services/C02", "services/C010101", "requests", f"requests/{order.number}",
             f"tokens/{token}", "servicerequestupdates", f"requests?service_request_id={order.number}"]
    bodies = []
    for path in paths:
        url = f"{BASE}/{path}.{fmt}" if "?" not in path else f"{BASE}/{path.replace('?', f'.{fmt}?')}"
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        bodies.append(response.content)
    return bodies


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_no_personal_data_in_any_get_answer(world, client, api_key, fmt):
    order = post_order(client, api_key, description="我是张三丰，电话 13812345678，邮箱 zhang.sanfeng@example.cn，请联系我",
                       address_string="甲社区3号楼（张三丰家门口）")
    drive(world, order, "dispatch", "sign")
    s.work_order_reply(order_id=order.pk, actor=world.user("edu_handler"),
                       text="已联系张三丰（13812345678）并处理完毕，另请拨打 0477-8581234 咨询")
    client.post(f"{BASE}/servicerequestupdates.json", {
        "api_key": api_key, "service_request_id": order.number, "description": "张三丰补充：我的新号码 139-0000-1111",
        "first_name": "三丰", "last_name": "张", "email": "zhang.sanfeng@example.cn",
    })
    bodies = every_get(client, order, fmt)
    everything = b"\n".join(bodies).decode("utf-8")
    for personal in [*PERSONAL_STRINGS, "13900001111", "139-0000-1111", "0477-8581234", "8581234"]:
        assert personal not in everything, personal
    assert CITIZEN["first_name"] not in everything  # 三丰, the given name on its own
    # The masked forms are what the public reads.
    assert "138****5678" in everything
    assert "张**" in everything
    assert "我是张**，电话 138****5678，邮箱 ***，请联系我" in everything


def test_public_text_masks_phones_and_ids_but_not_dates_or_house_numbers():
    assert public_text("电话13812345678") == "电话138****5678"
    assert public_text("+86 138 1234 5678") == "138****5678"
    assert public_text("座机 0477-8581234 或 8581234") == "座机 047****1234 或 ***1234"
    assert public_text("身份证 15060219900101123X") == "身份证 150*************3X"
    assert public_text("2026-11-23 在 3 号楼 502 室，编号 12345") == "2026-11-23 在 3 号楼 502 室，编号 12345"
    assert public_text("李四说", ["李四"]) == "李*说"
    assert public_text("写信给 a.b@example.cn", ["a.b@example.cn"]) == "写信给 ***"


def test_hotline_orders_published_by_a_service_are_masked_too(world, client, api_key):
    Service.objects.create(category=world.category_other, publish="all")
    s.work_order_create(actor=world.user("operator"), channel="hotline", kind="help", category_code="C02", lat=37.1,
                        lng=107.1, content="来电人李四反映，回电 13900001111", citizen_name="李四",
                        citizen_phone="13900001111")
    body = client.get(f"{BASE}/requests.json").content.decode()
    assert "李四" not in body and "13900001111" not in body
    assert "来电人李*反映，回电 139****1111" in body


HOSTILE = '<script>alert("x")</script> ]]> <![CDATA[ & &amp; \x0b\x1f end'


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_hostile_content_is_escaped(world, client, api_key, fmt):
    order = post_order(client, api_key, description=HOSTILE, address_string="<b>地址</b>")
    drive(world, order, "dispatch", "sign")
    s.work_order_reply(order_id=order.pk, actor=world.user("edu_handler"), text="答复 ]]> <x/>\x08")
    expected = '<script>alert("x")</script> ]]> <![CDATA[ & &amp;  end'  # control characters dropped on the way in
    for path in ["requests", f"requests/{order.number}"]:
        response = client.get(f"{BASE}/{path}.{fmt}")
        if fmt == "xml":
            assert b"<script>" not in response.content and b"<b>" not in response.content
            assert b"&lt;script&gt;" in response.content
            request = xml_root(response).find("request")  # parses: nothing broke out of its element
            assert [c.tag for c in request] == REQUEST_FIELDS
            assert request.findtext("description") == expected
            assert request.findtext("address") == "<b>地址</b>"
            assert request.findtext("status_notes") == "答复 ]]> <x/>"
        else:
            (request,) = json_body(response)
            assert request["description"] == expected
            assert request["status_notes"] == "答复 ]]> <x/>"
    updates = client.get(f"{BASE}/servicerequestupdates.{fmt}")
    if fmt == "xml":
        descriptions = [u.findtext("description") for u in xml_root(updates)]
    else:
        descriptions = [u["description"] for u in json_body(updates)]
    assert "乙区教育局已答复：答复 ]]> <x/>" in descriptions


def test_control_characters_already_stored_never_break_the_xml(world, client, api_key):
    """Text written by other channels may hold characters XML 1.0 cannot carry: they are dropped on the
    way out. (NUL itself never reaches here on PostgreSQL, which refuses it in text columns.)"""
    Service.objects.create(category=world.category_other, publish="all")
    s.work_order_create(actor=world.user("operator"), channel="hotline", kind="help", category_code="C02", lat=37.1,
                        lng=107.1, content="坏\x01字\x08符\x1b\ufffe结束")
    request = xml_root(client.get(f"{BASE}/requests.xml")).find("request")
    assert request.findtext("description") == "坏字符结束"


def test_any_email_in_free_text_is_masked():
    assert public_text("请回复 someone.else+x@mail.example.org 谢谢") == "请回复 *** 谢谢"


def test_a_redo_of_an_open311_order_shows_only_the_citizens_words(world, client, api_key, attributes):
    order = post_order(client, api_key, service_code="C010101", description="垃圾没人清",
                       **{"attribute[waste_type]": "household", "attribute[landmark]": "张三丰家后门"})
    drive(world, order, "dispatch", "sign", "reply")
    redo = s.work_order_redo(order_id=order.pk, actor=world.user("operator"), cause="not_solved", note="内部重办理由")
    assert "【附加信息】" in redo.content  # the handlers still read everything
    body = client.get(f"{BASE}/requests/{redo.number}.json").json()
    assert body[0]["description"] == "垃圾没人清"
    text = client.get(f"{BASE}/requests.xml").content.decode()
    for hidden in ["附加信息", "张三丰家后门", "生活垃圾", "【来源】", "随手拍", "内部重办理由"]:
        assert hidden not in text
