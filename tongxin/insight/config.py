"""Settings of the insight room, with their defaults (each can be set in settings or the environment).

| setting | default | meaning |
|---|---|---|
| TONGXIN_CLASSIFIER_DIR | VAR_DIR/models/classifier | where retrained models and their reports are written |
| TONGXIN_CLASSIFIER_MODEL | (none) | a model file to use while no platform-trained model is active |
| TONGXIN_CLASSIFIER_THRESHOLD | 0.5 | below this confidence nothing is pre-selected |
| TONGXIN_CLASSIFIER_MIN_ORDERS | 200 | closed orders needed before the platform trains its own model |
| TONGXIN_CLASSIFIER_MIN_PER_CLASS | 20 | training orders a level-2/3 category needs to be learnt |
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import overload

from django.conf import settings


# With a default the answer is always a str (the environment's value or the default).
@overload
def _setting(name: str) -> str | None: ...
@overload
def _setting(name: str, default: str) -> str: ...
def _setting(name: str, default: str | None = None) -> str | None:
    value = getattr(settings, name, None)
    if value in (None, ""):
        value = os.environ.get(name) or default
    return None if value is None else str(value)


def model_dir() -> Path:
    return Path(_setting("TONGXIN_CLASSIFIER_DIR") or Path(settings.VAR_DIR) / "models" / "classifier")


def fallback_model_path() -> str | None:
    return _setting("TONGXIN_CLASSIFIER_MODEL")


def preselect_threshold() -> float:
    return float(_setting("TONGXIN_CLASSIFIER_THRESHOLD", "0.5"))


def min_orders() -> int:
    return int(_setting("TONGXIN_CLASSIFIER_MIN_ORDERS", "200"))


def min_per_class() -> int:
    return int(_setting("TONGXIN_CLASSIFIER_MIN_PER_CLASS", "20"))
