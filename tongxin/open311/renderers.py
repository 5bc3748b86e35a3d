"""The two formats of GeoReport v2: XML (required by the specification) and JSON, both UTF-8.

Documents are built once as plain Python data (dicts keep the specification's element order) and
rendered here. In XML a list becomes one element per item, named by ``ITEM_NAMES`` (``services`` →
``service``, ``service_requests`` → ``request``, …); a top-level list becomes the root element with
its items. In JSON the same data is dumped as it is: a top-level list stays a list, as in the
specification's JSON examples.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

from django.http import HttpResponse
from django.utils import timezone

FORMATS = ("xml", "json")
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}

# The element name of each item of a list, by the list's own element name.
ITEM_NAMES = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "service_request_updates": "request_update",
}

# Characters XML 1.0 cannot carry at all, even escaped: C0 controls other than tab, newline and
# carriage return, lone surrogates, U+FFFE and U+FFFF. ElementTree would write them raw and produce
# a document no parser accepts, so they are dropped from every text (and from JSON, for one answer
# whatever the format).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    return _XML_INVALID.sub("", value)


def format_datetime(value: datetime | None) -> str | None:
    """ISO 8601 in the city's time zone with its offset, to the second: 2026-11-23T10:30:00+08:00."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _scalar(value: Any) -> Any:
    """The JSON value of a scalar (datetimes as ISO 8601 strings, text cleaned)."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _json_ready(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _json_ready(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_json_ready(item) for item in data]
    return _scalar(data)


def _xml_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, float):
        return repr(value)
    return clean_text(str(value))


def _fill(element: ET.Element, name: str, data: Any) -> None:
    """Put ``data`` inside ``element`` (whose own name is ``name``)."""
    if isinstance(data, dict):
        for key, value in data.items():
            _fill(ET.SubElement(element, key), key, value)
    elif isinstance(data, list | tuple):
        item_name = ITEM_NAMES[name]
        for item in data:
            _fill(ET.SubElement(element, item_name), item_name, item)
    else:
        element.text = _xml_text(data)


def to_xml(root_name: str, data: Any) -> bytes:
    root = ET.Element(root_name)
    _fill(root, root_name, data)
    # ElementTree escapes <, > and & in text, so "<script>" and "]]>" arrive as text, never as markup.
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")


def to_json(data: Any) -> bytes:
    return json.dumps(_json_ready(data), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render(fmt: str, root_name: str, data: Any, *, status: int = 200) -> HttpResponse:
    """The answer in ``fmt`` (``xml`` or ``json``); ``root_name`` names the XML root element."""
    body = to_xml(root_name, data) if fmt == "xml" else to_json(data)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def render_errors(fmt: str, status: int, descriptions: list[str]) -> HttpResponse:
    """The specification's error document: ``errors`` → ``error`` (``code``, ``description``), the code
    being the HTTP status."""
    errors = [{"code": status, "description": description} for description in descriptions]
    return render(fmt if fmt in FORMATS else "xml", "errors", errors, status=status)
