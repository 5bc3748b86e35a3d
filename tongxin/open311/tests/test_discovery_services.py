"""Discovery, the service list and service definitions in both formats, with the specification's
element names and nesting; unknown codes, formats, paths, methods and jurisdictions."""

from __future__ import annotations

import pytest

from tongxin.workorders.catalogue import category_upsert

from .conftest import BASE, children, errors_of, json_body, xml_root

SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ATTRIBUTE_FIELDS = ["variable", "code", "datatype", "required", "datatype_description", "order", "description"]


def test_discovery_xml(world, client):
    response = client.get(f"{BASE}/discovery.xml")
    assert response.status_code == 200
    root = xml_root(response)
    assert root.tag == "discovery"
    assert children(root) == ["changeset", "contact", "key_service", "endpoints"]
    endpoints = root.find("endpoints")
    assert children(endpoints) == ["endpoint", "endpoint"]
    first = endpoints.find("endpoint")
    assert children(first) == ["specification", "url", "changeset", "type", "formats"]
    assert first.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert first.findtext("url") == "http://testserver/open311/v2"
    assert first.findtext("changeset").endswith("+08:00")
    assert [f.text for f in first.find("formats")] == ["text/xml", "application/json"]
    assert all(child.tag == "format" for child in first.find("formats"))
    assert "fixmystreet" in endpoints.findall("endpoint")[1].findtext("specification").lower()


def test_discovery_json(world, client):
    body = json_body(client.get(f"{BASE}/discovery.json"))
    assert list(body) == ["changeset", "contact", "key_service", "endpoints"]
    assert body["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert body["endpoints"][0]["type"] == "production"


def test_services_xml(world, client, attributes):
    category_upsert(code="C010102", name="路灯维修", parent=world.category_leaf.parent, keywords="路灯，照明；不亮")
    category_upsert(code="C03", name="已停用", active=False)
    response = client.get(f"{BASE}/services.xml")
    root = xml_root(response)
    assert root.tag == "services"
    assert set(children(root)) == {"service"}
    services = {s.findtext("service_code"): s for s in root}
    assert set(services) == {"C01", "C0101", "C010101", "C010102", "C02"}  # active categories only
    for service in services.values():
        assert children(service) == SERVICE_FIELDS
        assert service.findtext("type") == "realtime"
    leaf = services["C010101"]
    assert leaf.findtext("service_name") == "垃圾清理"
    assert leaf.findtext("group") == "城乡建设"  # the level-1 ancestor
    assert leaf.findtext("metadata") == "true"  # it has attributes
    assert leaf.findtext("description") == "垃圾堆放、清运不及时"  # from the service settings
    lamp = services["C010102"]
    assert lamp.findtext("metadata") == "false"
    assert lamp.findtext("keywords") == "路灯, 照明, 不亮"
    assert lamp.findtext("description") == "城乡建设 > 市政管理 > 路灯维修"  # the path, by default
    assert services["C02"].findtext("group") == "教育文体"


def test_services_json(world, client, attributes):
    body = json_body(client.get(f"{BASE}/services.json"))
    assert isinstance(body, list)
    by_code = {s["service_code"]: s for s in body}
    assert list(by_code["C010101"]) == SERVICE_FIELDS
    assert by_code["C010101"]["metadata"] is True
    assert by_code["C02"]["metadata"] is False
    assert by_code["C0101"]["group"] == "城乡建设"


def test_service_definition_xml(world, client, attributes):
    response = client.get(f"{BASE}/services/C010101.xml")
    root = xml_root(response)
    assert root.tag == "service_definition"
    assert children(root) == ["service_code", "attributes"]
    assert root.findtext("service_code") == "C010101"
    attributes_ = root.find("attributes")
    assert set(children(attributes_)) == {"attribute"}
    by_code = {a.findtext("code"): a for a in attributes_}
    assert list(by_code) == ["waste_type", "hazards", "bags", "seen_at", "landmark", "details", "notice"]  # by order
    waste = by_code["waste_type"]
    assert children(waste) == [*ATTRIBUTE_FIELDS, "values"]
    assert waste.findtext("datatype") == "singlevaluelist"
    assert waste.findtext("required") == "true"
    assert waste.findtext("variable") == "true"
    values = waste.find("values")
    assert set(children(values)) == {"value"}
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [("household", "生活垃圾"), ("construction", "建筑垃圾")]
    assert all(children(v) == ["key", "name"] for v in values)
    assert children(by_code["bags"]) == ATTRIBUTE_FIELDS  # no values for a number
    assert by_code["notice"].findtext("variable") == "false"
    assert {a.findtext("datatype") for a in attributes_} == {
        "string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}


def test_service_definition_json(world, client, attributes):
    body = json_body(client.get(f"{BASE}/services/C010101.json"))
    assert list(body) == ["service_code", "attributes"]
    hazards = next(a for a in body["attributes"] if a["code"] == "hazards")
    assert hazards["datatype"] == "multivaluelist"
    assert hazards["required"] is False and hazards["variable"] is True and hazards["order"] == 2
    assert hazards["values"] == [{"key": "smell", "name": "异味"}, {"key": "leak", "name": "渗漏"},
                                 {"key": "fire", "name": "起火"}]


def test_service_without_attributes_has_an_empty_definition(world, client):
    body = json_body(client.get(f"{BASE}/services/C02.json"))
    assert body == {"service_code": "C02", "attributes": []}
    root = xml_root(client.get(f"{BASE}/services/C02.xml"))
    assert children(root) == ["service_code", "attributes"] and children(root.find("attributes")) == []


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_unknown_service_code_is_404(world, client, fmt):
    errors = errors_of(client.get(f"{BASE}/services/NOPE.{fmt}"), fmt, 404)
    assert "service_code" in errors[0]["description"]
    category_upsert(code="C04", name="停用分类", active=False)
    errors_of(client.get(f"{BASE}/services/C04.{fmt}"), fmt, 404)


@pytest.mark.parametrize("path", ["services.csv", "services.html", "discovery.", "requests.XML", "services"])
def test_unknown_format_or_missing_extension_is_404_in_xml(world, client, path):
    errors = errors_of(client.get(f"{BASE}/{path}"), "xml", 404)
    assert errors[0]["description"]


def test_unknown_path_is_404_and_post_there_is_not_a_csrf_page(world, client):
    errors_of(client.get(f"{BASE}/nothing/here.json"), "xml", 404)
    errors_of(client.post(f"{BASE}/nothing.json", {"a": "b"}), "xml", 404)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_jurisdiction_id(world, client, fmt):
    assert client.get(f"{BASE}/services.{fmt}?jurisdiction_id=150600").status_code == 200
    assert client.get(f"{BASE}/services.{fmt}?jurisdiction_id=").status_code == 200  # empty counts as absent
    errors = errors_of(client.get(f"{BASE}/services.{fmt}?jurisdiction_id=sfgov.org"), fmt, 404)
    assert "jurisdiction_id" in errors[0]["description"]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_wrong_method_is_405(world, client, fmt):
    response = client.post(f"{BASE}/services.{fmt}", {})
    errors_of(response, fmt, 405)
    assert response["Allow"] == "GET, HEAD"
    response = client.delete(f"{BASE}/requests.{fmt}")
    errors_of(response, fmt, 405)
    assert response["Allow"] == "GET, POST, HEAD"


def test_public_documents_allow_cross_origin_reads(world, client):
    assert client.get(f"{BASE}/services.json")["Access-Control-Allow-Origin"] == "*"
    assert client.head(f"{BASE}/services.json").status_code == 200


def test_services_take_three_queries(world, client, attributes, django_assert_max_num_queries):
    for index in range(10):
        category_upsert(code=f"C0101{index + 10}", name=f"分类{index}", parent=world.category_leaf.parent)
    with django_assert_max_num_queries(3):
        assert client.get(f"{BASE}/services.json").status_code == 200
