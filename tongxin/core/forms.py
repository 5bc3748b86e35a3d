"""Running a service behind a Django form, for every page: validate, call the service in one
transaction, and put its errors where the user looks — a field's error beside that field, a conflict or
a refusal above the form — while the bound form keeps everything that was typed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.db import transaction
from django.http import Http404

from .errors import ApplicationError, NotFound, ValidationFailed


def run_service(form: forms.Form, call: Callable[[dict[str, Any]], Any], *, not_found: str,
                aliases: Mapping[str, str] | None = None) -> tuple[bool, Any]:
    """``(True, result)`` when the form is valid and the service succeeded, else ``(False, None)`` with
    the errors on the form. A service's field name maps onto the form's through ``aliases`` (and loses
    its index: ``attachment_ids[0]`` → ``attachment_ids``); NotFound (outside the jurisdiction) is 404
    with the message ``not_found``."""
    if not form.is_valid():
        return False, None
    try:
        with transaction.atomic():
            return True, call(form.cleaned_data)
    except NotFound:
        raise Http404(not_found) from None
    except ValidationFailed as error:
        for field, message in (error.fields or {"": error.message}).items():
            name = field.split("[")[0].split(".")[0]
            name = (aliases or {}).get(name, name)
            form.add_error(name if name in form.fields else None, message)
        return False, None
    except ApplicationError as error:
        form.add_error(None, error.message)
        return False, None
