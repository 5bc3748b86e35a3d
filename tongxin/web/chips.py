"""The category chips beside a report's text (the grid worker's 上报事件, the resident's 随手拍): the
classifier's top categories that exist in the tree, for the person to tap. A suggestion is a courtesy:
when the classifier is not trained, or fails, the form simply shows none."""

from __future__ import annotations

import logging
from typing import Any

from tongxin.insight.selectors import ClassifierUnavailable, classify

logger = logging.getLogger(__name__)

MIN_CHARS = 6  # fewer characters say too little to classify
MAX_CHARS = 2000
MAX_CHIPS = 3


def category_chips(text: str | None) -> list[dict[str, Any]]:
    """The classifier's top categories for ``text`` that map onto the category tree (each a ``top`` item
    of ``classify``, with its ``category``), at most three; empty for a short text or without a model."""
    text = (text or "").strip()[:MAX_CHARS]
    if len(text) < MIN_CHARS:
        return []
    try:
        result = classify(text=text)
    except ClassifierUnavailable:
        return []
    except Exception:  # a broken model must not break the form: no suggestion then
        logger.exception("category suggestion failed")
        return []
    return [t for t in result.get("top", []) if t.get("category")][:MAX_CHIPS]
