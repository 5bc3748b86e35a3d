"""System checks of tongxin's own settings (``tongxin check``, ``tongxin check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register(Tags.security)
def data_keys_valid(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """A malformed TONGXIN_DATA_KEYS stops every command: personal data could be neither sealed nor read."""
    from tongxin.core.fieldcrypt import parse_keys

    try:
        parse_keys(str(getattr(settings, "TONGXIN_DATA_KEYS", "") or ""))
    except ImproperlyConfigured as error:
        return [Error(str(error), hint="See docs/configuration.md (TONGXIN_DATA_KEYS).", id="tongxin.E001")]
    return []


@register(Tags.security, deploy=True)
def data_keys_configured(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Production must not seal personal data with the key derived from SECRET_KEY: that key is not kept
    apart from the application's other secrets and cannot be rotated on its own."""
    if str(getattr(settings, "TONGXIN_DATA_KEYS", "") or "").strip():
        return []
    return [Warning(
        "TONGXIN_DATA_KEYS is not set: ID numbers and phones are encrypted with the development key derived "
        "from SECRET_KEY.",
        hint="Generate a key with `tongxin pii newkey`, set TONGXIN_DATA_KEYS=<id>:<key>, then run "
             "`tongxin pii rekey` (docs/configuration.md).",
        id="tongxin.W001",
    )]
