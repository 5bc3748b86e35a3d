"""The OpenAPI document names each schema once: two different classes with the same name (an enum
``Status`` in two rooms, a ``NoteIn`` in two APIs) would share one component, and one endpoint would be
documented — and checked by Schemathesis — against the other's shape."""

from __future__ import annotations

import enum
import json
import sys
from collections import defaultdict

from ninja import Schema

from tongxin.api import api


def _shape(cls: type) -> str:
    if issubclass(cls, enum.Enum):
        return json.dumps(sorted(str(member.value) for member in cls))
    return json.dumps(cls.model_json_schema(), sort_keys=True, ensure_ascii=False)


def test_no_two_different_schemas_share_a_component_name():
    components = set(api.get_openapi_schema().get("components", {}).get("schemas", {}))
    by_name: dict[str, dict[str, type]] = defaultdict(dict)
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("tongxin.") or module is None:
            continue
        for obj in vars(module).values():
            if (isinstance(obj, type) and obj.__module__ == module_name and obj.__name__ in components
                    and (issubclass(obj, Schema) or issubclass(obj, enum.Enum))):
                by_name[obj.__name__][module_name] = obj
    clashes = {
        name: sorted(classes) for name, classes in by_name.items()
        if len({_shape(cls) for cls in classes.values()}) > 1
    }
    assert not clashes, f"different schemas share an OpenAPI name (rename one): {clashes}"
