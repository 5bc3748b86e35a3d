"""The category classifier at prediction time: a versioned model file, loaded once per process.

A model is a linear scorer over hashed character n-grams (textfeatures.py) with one "head" per category
level: ``level1`` (the first-level category) and, when the platform's own history has enough orders,
``level2`` and ``level3``. Labels are category names; lower levels are name paths joined by "/"
("城乡建设/城市建设和市政管理"), so a model does not depend on one database's ids or codes.

A message is a title (subject) and a body. When both are present they are scored separately and the
scores added (late fusion): measured on held-out messages this beats scoring the concatenated text,
because a 300-character body otherwise drowns the subject's n-grams. Scores become confidences with a
softmax whose temperature was fitted on held-out data (one for single texts, one for title + body).

File format (``FORMAT_VERSION`` 1): a NumPy ``.npz`` archive read with ``allow_pickle=False`` (a model
file can never run code), holding

- ``header``: UTF-8 JSON — format, format_version, created_at, sklearn/numpy versions, features
  (n-gram range, hash space, characters kept), heads (labels, temperatures), training metadata, metrics;
- ``columns``: the hashed feature ids the model knows (sorted int64), ``idf``: their idf weights;
- ``<head>.coef`` (classes × columns, float32) and ``<head>.intercept`` per head.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.core.errors import ApplicationError

from .textfeatures import char_ngram_counts_of, tfidf

FORMAT = "tongxin-insight-classifier"
FORMAT_VERSION = 1
DEFAULT_FEATURES = {"kind": "char_ngram_hash", "ngram": [1, 4], "n_features": 2**21, "max_chars": 300,
                    "train_max_chars": 600}
HEADS = ("level1", "level2", "level3")


class ModelFileError(ApplicationError):
    status = 503
    code = "classifier_model_invalid"
    default_message = gettext_lazy("分类模型文件无效或版本不兼容")


Message = str | tuple[str, str]


@dataclass
class Head:
    name: str
    labels: list[str]
    coef: np.ndarray  # float32, classes × columns
    intercept: np.ndarray  # float32, classes
    temperature_single: float = 1.0
    temperature_pair: float = 1.0
    coef_t: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Sparse × dense wants the dense side C-contiguous and of the same dtype: prepared once here,
        # otherwise scipy would copy the whole matrix on every call.
        self.coef_t = np.ascontiguousarray(self.coef.T, dtype=np.float32)
        self.intercept = np.asarray(self.intercept, dtype=np.float32)

    def meta(self) -> dict[str, Any]:
        return {"labels": self.labels, "temperature_single": self.temperature_single,
                "temperature_pair": self.temperature_pair}


@dataclass
class Prediction:
    label: str
    confidence: float


@dataclass
class TextClassifier:
    columns: np.ndarray
    idf: np.ndarray
    heads: dict[str, Head]
    header: dict[str, Any] = field(default_factory=dict)

    # --- features ------------------------------------------------------------------------------

    @property
    def features(self) -> dict[str, Any]:
        return self.header.get("features", DEFAULT_FEATURES)

    def vectorise(self, texts: Sequence[str]) -> Any:
        f = self.features
        counts = char_ngram_counts_of(texts, max_chars=int(f["max_chars"]), ngram=tuple(f["ngram"]),
                                      n_features=int(f["n_features"]))
        return tfidf(counts, self.columns, self.idf)

    # --- scores --------------------------------------------------------------------------------

    def decision(self, messages: Sequence[Message], head: str = "level1") -> tuple[np.ndarray, np.ndarray]:
        """Raw scores (messages × classes) and, per message, whether it was a title + body pair."""
        h = self.heads[head]
        titles: list[str] = []
        bodies: list[str] = []
        for message in messages:
            if isinstance(message, tuple):
                title, body = (message[0] or "").strip(), (message[1] or "").strip()
            else:
                title, body = "", (message or "").strip()
            if not body:
                title, body = "", title
            titles.append(title)
            bodies.append(body)
        pair = np.array([bool(t) for t in titles])
        scores = self.vectorise(bodies) @ h.coef_t + h.intercept
        if pair.any():
            index = np.flatnonzero(pair)
            scores[index] += self.vectorise([titles[i] for i in index]) @ h.coef_t + h.intercept
        return np.asarray(scores, dtype=np.float64), pair

    def probabilities(self, messages: Sequence[Message], head: str = "level1") -> np.ndarray:
        h = self.heads[head]
        scores, pair = self.decision(messages, head)
        temperature = np.where(pair, h.temperature_pair, h.temperature_single)[:, None]
        return softmax(scores / temperature)

    def predict(self, messages: Sequence[Message], *, head: str = "level1", k: int = 3) -> list[list[Prediction]]:
        """The ``k`` most likely labels of each message, with confidences, best first."""
        if not messages:
            return []
        labels = self.heads[head].labels
        probs = self.probabilities(messages, head)
        k = min(k, len(labels))
        top = np.argsort(-probs, axis=1)[:, :k]
        return [[Prediction(labels[j], round(float(probs[i, j]), 4)) for j in row] for i, row in enumerate(top)]

    # --- files ---------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write atomically (a temporary file renamed into place): a reader never sees half a model."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {**self.header, "format": FORMAT, "format_version": FORMAT_VERSION,
                  "heads": {name: h.meta() for name, h in self.heads.items()},
                  "features": self.features}
        arrays: dict[str, np.ndarray] = {
            "header": np.frombuffer(json.dumps(header, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
            "columns": self.columns.astype(np.int64), "idf": self.idf.astype(np.float32),
        }
        for name, h in self.heads.items():
            arrays[f"{name}.coef"] = h.coef.astype(np.float32)
            arrays[f"{name}.intercept"] = h.intercept.astype(np.float32)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, allow_pickle=False, **arrays)  # not compressed: loading is then a plain read
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.header = header
        return path

    @classmethod
    def load(cls, path: str | Path) -> TextClassifier:
        try:
            with np.load(Path(path), allow_pickle=False) as archive:
                header = json.loads(bytes(archive["header"]).decode("utf-8"))
                if header.get("format") != FORMAT:
                    raise ModelFileError(_("%(path)s 不是同心分类模型文件") % {"path": path})
                if header.get("format_version") != FORMAT_VERSION:
                    raise ModelFileError(
                        _("模型文件格式版本为 %(found)s，本程序只支持 %(supported)s，请重新训练") % {
                            "found": header.get("format_version"), "supported": FORMAT_VERSION},
                        code="classifier_model_version")
                heads = {}
                for name, meta in header["heads"].items():
                    heads[name] = Head(name=name, labels=list(meta["labels"]), coef=archive[f"{name}.coef"],
                                       intercept=archive[f"{name}.intercept"],
                                       temperature_single=float(meta.get("temperature_single", 1.0)),
                                       temperature_pair=float(meta.get("temperature_pair", 1.0)))
                return cls(columns=archive["columns"], idf=archive["idf"], heads=heads, header=header)
        except FileNotFoundError:
            raise ModelFileError(_("模型文件不存在：%(path)s") % {"path": path}, code="classifier_model_missing") from None
        except (OSError, ValueError, KeyError) as exc:
            raise ModelFileError(_("无法读取模型文件 %(path)s：%(error)s") % {"path": path, "error": exc}) from None


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


# --- one copy per process ----------------------------------------------------------------------

_cache: dict[str, tuple[tuple[float, int], TextClassifier]] = {}
_cache_lock = threading.Lock()


def load_cached(path: str | Path) -> TextClassifier:
    """The model at ``path``, read from disk once per process (again only if the file changed)."""
    key = str(Path(path).resolve())
    try:
        stat = os.stat(key)
    except FileNotFoundError:
        raise ModelFileError(_("模型文件不存在：%(path)s") % {"path": path}, code="classifier_model_missing") from None
    stamp = (stat.st_mtime, stat.st_size)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        model = TextClassifier.load(key)
        _cache[key] = (stamp, model)
        return model


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
