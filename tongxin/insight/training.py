"""Training and honest evaluation of the category classifier.

The learner: character 1–4-grams hashed into 2^21 columns (textfeatures.py), columns seen in fewer than
``min_df`` training texts dropped, sublinear tf × smoothed idf, L2 rows, and a one-vs-rest linear SVM
(scikit-learn's LinearSVC, C = 1, balanced class weights). Subjects and bodies are separate training
texts of one shared model (a body teaches the vocabulary that a short subject lacks); a body counts by its
first 300 characters. Scores become confidences through a softmax whose temperature is fitted on held-out
data. docs/insight.md records the figures, the reference baseline on the same folds, and what is left to try.

Honest evaluation on the contest data (``../shared/data/citizen-messages``): texts are deduplicated by
their normalised form (labels that disagree on one text: the text is dropped), the held-out part is a set
of complete messages (messages_full.csv: subject + body + label), and training keeps no subject and no
body of a held-out message — nor any near-copy of one (character-bigram cosine ≥ 0.8).
"""

from __future__ import annotations

import csv
import hashlib
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .classifier import DEFAULT_FEATURES, Head, Message, TextClassifier, softmax
from .textfeatures import (
    char_ngram_counts,
    char_ngram_counts_of,
    dedupe_key,
    document_frequency,
    normalise,
    smooth_idf,
    tfidf,
)

SVM_C = 1.0
NEAR_DUPLICATE_COSINE = 0.8


def default_min_df(n_texts: int) -> int:
    """Prune columns seen in fewer than 3 texts on a large corpus (same accuracy, a third of the model
    size, measured); keep everything on a small one."""
    return 3 if n_texts >= 5000 else 1


# --- fitting ----------------------------------------------------------------------------------------

def fit(texts: Sequence[str], labels: Mapping[str, Sequence[str | None]], *, min_df: int | None = None,
        C: float = SVM_C, features: dict[str, Any] | None = None) -> TextClassifier:
    """Fit one head per entry of ``labels`` (head name → one label per text, None = not in this head).

    The idf and the column set are shared by the heads and computed on all ``texts``."""
    from sklearn.svm import LinearSVC

    features = {**DEFAULT_FEATURES, **(features or {})}
    # Training may read more of a long body than prediction does (``train_max_chars``): more examples
    # of the vocabulary, while prediction stays fast.
    counts = char_ngram_counts_of(texts, max_chars=int(features.get("train_max_chars") or features["max_chars"]),
                                  ngram=tuple(features["ngram"]), n_features=int(features["n_features"]))
    min_df = default_min_df(len(texts)) if min_df is None else min_df
    df = document_frequency(counts)
    columns = np.flatnonzero(df >= min_df).astype(np.int64)
    idf = smooth_idf(df[columns], len(texts)).astype(np.float32)
    X = tfidf(counts, columns, idf)
    heads: dict[str, Head] = {}
    for name, head_labels in labels.items():
        rows = np.array([i for i, label in enumerate(head_labels) if label is not None], dtype=np.int64)
        y = np.array([head_labels[i] for i in rows], dtype=object)
        classes = sorted(set(y))
        if len(classes) < 2:
            continue
        svm = LinearSVC(C=C, class_weight="balanced")
        svm.fit(X[rows], y.astype(str))
        coef, intercept = svm.coef_, svm.intercept_
        if len(classes) == 2:  # a binary SVM has one score: make it two, one per class
            coef = np.vstack([-coef[0], coef[0]])
            intercept = np.array([-intercept[0], intercept[0]])
        heads[name] = Head(name=name, labels=[str(c) for c in svm.classes_], coef=coef.astype(np.float32),
                           intercept=intercept.astype(np.float32))
    from sklearn import __version__ as sklearn_version

    header = {"features": features, "sklearn_version": sklearn_version, "numpy_version": np.__version__,
              "learner": {"model": "LinearSVC one-vs-rest", "C": C, "class_weight": "balanced",
                          "min_df": min_df, "tf": "sublinear", "idf": "smooth", "texts": len(texts),
                          "columns": len(columns)}}
    return TextClassifier(columns=columns, idf=idf, heads=heads, header=header)


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The softmax temperature that minimises the negative log-likelihood of the true classes
    (``y``: column indexes). A coarse log grid, then a fine one around the best."""
    if len(y) == 0:
        return 1.0

    def nll(t: float) -> float:
        p = softmax(scores / t)
        return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))))

    grid = np.logspace(-2, 1.5, 36)
    best = min(grid, key=nll)
    fine = np.linspace(best / 1.3, best * 1.3, 25)
    return round(float(min(fine, key=nll)), 5)


def calibrate(model: TextClassifier, head: str, messages: Sequence[Message], y: Sequence[str]) -> None:
    """Fit the head's temperatures on held-out messages (single texts and title + body pairs apart)."""
    h = model.heads[head]
    index = {label: i for i, label in enumerate(h.labels)}
    keep = [i for i, label in enumerate(y) if label in index]
    if not keep:
        return
    scores, pair = model.decision([messages[i] for i in keep], head)
    yi = np.array([index[y[i]] for i in keep])
    if (~pair).any():
        h.temperature_single = fit_temperature(scores[~pair], yi[~pair])
    h.temperature_pair = fit_temperature(scores[pair], yi[pair]) if pair.any() else h.temperature_single


# --- measuring ----------------------------------------------------------------------------------------

def evaluate(model: TextClassifier, messages: Sequence[Message], y: Sequence[str], head: str = "level1",
             scores: np.ndarray | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, top-3 accuracy, per-class F1 and the confusion matrix (rows: truth)."""
    labels = model.heads[head].labels
    if scores is None:
        scores, _pair = model.decision(messages, head)
    return metrics_from_scores(scores, y, labels)


def metrics_from_scores(scores: np.ndarray, y: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labels_arr = np.array(labels, dtype=object)
    truth = np.array(list(y), dtype=object)
    if len(truth) == 0:
        return {"n": 0}
    order = np.argsort(-scores, axis=1)
    predicted = labels_arr[order[:, 0]]
    top3 = np.mean([t in labels_arr[row[:3]] for t, row in zip(truth, order, strict=True)])
    present = sorted(set(truth) | set(predicted))
    per_class = f1_score(truth, predicted, labels=present, average=None, zero_division=0)
    return {
        "n": len(truth),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)), 4),
        "top3_accuracy": round(float(top3), 4),
        "per_class_f1": {label: round(float(v), 4) for label, v in zip(present, per_class, strict=True)},
        "labels": present,
        "confusion": confusion_matrix(truth, predicted, labels=present).tolist(),
    }


def format_confusion(result: dict[str, Any]) -> str:
    labels = result["labels"]
    width = max(len(label) for label in labels)
    lines = ["truth \\ predicted: " + " ".join(f"[{i}]" for i in range(len(labels)))]
    for i, (label, row) in enumerate(zip(labels, result["confusion"], strict=True)):
        lines.append(f"[{i}] {label:{chr(12288)}<{width}} " + " ".join(f"{v:>4d}" for v in row))
    return "\n".join(lines)


# --- the contest data ---------------------------------------------------------------------------------

@dataclass
class Text:
    text: str
    label: str
    key: str


@dataclass
class ContestData:
    """``subjects`` and ``bodies``: unique texts (by dedupe key) with one label each; ``messages``:
    complete messages as (subject index, body index, label)."""

    subjects: list[Text]
    bodies: list[Text]
    messages: list[tuple[int, int, str]]
    dropped_conflicting: int
    files: dict[str, str] = field(default_factory=dict)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _unique(rows: list[dict[str, str]], column: str) -> tuple[list[Text], int]:
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        key = dedupe_key(row.get(column))
        if key and (row.get("label") or "").strip():
            groups[key].append(row)
    out: list[Text] = []
    dropped = 0
    for key, members in groups.items():
        labels = {m["label"].strip() for m in members}
        if len(labels) > 1:
            dropped += 1
            continue
        out.append(Text(text=members[0][column], label=labels.pop(), key=key))
    return out, dropped


def load_contest(directory: str | Path) -> ContestData:
    """Read a folder laid out like ../shared/data/citizen-messages: subjects.csv (subject, label),
    details.csv (detail, label) and, when present, messages_full.csv (subject, detail, label)."""
    directory = Path(directory)
    subjects_path, details_path, full_path = (directory / n for n in ("subjects.csv", "details.csv", "messages_full.csv"))
    if not subjects_path.exists() and not details_path.exists():
        raise FileNotFoundError(f"{directory} holds neither subjects.csv nor details.csv")
    files: dict[str, str] = {}
    subject_rows: list[dict[str, str]] = []
    detail_rows: list[dict[str, str]] = []
    full_rows: list[dict[str, str]] = []
    for path, target in ((subjects_path, subject_rows), (details_path, detail_rows), (full_path, full_rows)):
        if path.exists():
            target.extend(_read_csv(path))
            files[path.name] = _sha256(path)
    # A complete message's subject and body also count as training texts when it is not held out.
    subject_rows = subject_rows + [{"subject": r.get("subject", ""), "label": r.get("label", "")} for r in full_rows]
    detail_rows = detail_rows + [{"detail": r.get("detail", ""), "label": r.get("label", "")} for r in full_rows]
    subjects, dropped_s = _unique(subject_rows, "subject")
    bodies, dropped_b = _unique(detail_rows, "detail")
    s_index = {t.key: i for i, t in enumerate(subjects)}
    b_index = {t.key: i for i, t in enumerate(bodies)}
    messages = []
    for row in full_rows:
        i, j = s_index.get(dedupe_key(row.get("subject"))), b_index.get(dedupe_key(row.get("detail")))
        if i is not None and j is not None and subjects[i].label == bodies[j].label == row.get("label", "").strip():
            messages.append((i, j, subjects[i].label))
    return ContestData(subjects=subjects, bodies=bodies, messages=messages,
                       dropped_conflicting=dropped_s + dropped_b, files=files)


def message_folds(data: ContestData, n_folds: int, seed: int = 2020) -> list[int]:
    """A fold number per complete message. Messages sharing a subject or a body stay together; folds
    are balanced by label (groups sorted by label, then dealt round-robin after a seeded shuffle)."""
    parent = list(range(len(data.messages)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for keys in ([m[0] for m in data.messages], [m[1] for m in data.messages]):  # subjects, then bodies
        first: dict[int, int] = {}
        for n, key in enumerate(keys):
            if key in first:
                parent[find(n)] = find(first[key])
            else:
                first[key] = n
    groups: dict[int, list[int]] = defaultdict(list)
    for n in range(len(data.messages)):
        groups[find(n)].append(n)
    ordered = sorted(groups.values())
    random.Random(seed).shuffle(ordered)
    ordered.sort(key=lambda g: data.messages[g[0]][2])
    fold = [0] * len(data.messages)
    for n, group in enumerate(ordered):
        for member in group:
            fold[member] = n % n_folds
    return fold


def _bigram_vectors(texts: Sequence[str]) -> sp.csr_matrix:
    counts = char_ngram_counts([dedupe_key(t)[:600] for t in texts], ngram=(2, 2), n_features=2**22)
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ counts)


def near_duplicates(held_out: Sequence[str], candidates: Sequence[str], threshold: float = NEAR_DUPLICATE_COSINE) -> set[int]:
    """Indexes of ``candidates`` whose character-bigram cosine with some held-out text is ≥ threshold."""
    if not held_out or not candidates:
        return set()
    similarity = _bigram_vectors(candidates) @ _bigram_vectors(held_out).T
    best = np.asarray(similarity.max(axis=1).todense()).ravel()
    return set(np.flatnonzero(best >= threshold).tolist())


@dataclass
class Split:
    train_subjects: list[int]
    train_bodies: list[int]
    test_messages: list[int]
    removed_exact: int
    removed_near: int


def split_for(data: ContestData, test_messages: Sequence[int], *, near_threshold: float = NEAR_DUPLICATE_COSINE) -> Split:
    """Training texts for a set of held-out messages: every subject and body except the held-out
    messages' own and their near-copies (a subject is compared with held-out subjects, a body with
    held-out bodies)."""
    test_s = {data.messages[m][0] for m in test_messages}
    test_b = {data.messages[m][1] for m in test_messages}
    test_keys = {data.subjects[i].key for i in test_s} | {data.bodies[j].key for j in test_b}
    subjects = [i for i, t in enumerate(data.subjects) if i not in test_s and t.key not in test_keys]
    bodies = [j for j, t in enumerate(data.bodies) if j not in test_b and t.key not in test_keys]
    removed_exact = len(data.subjects) - len(subjects) + len(data.bodies) - len(bodies) - len(test_s) - len(test_b)
    near_s = near_duplicates([data.subjects[i].text for i in sorted(test_s)], [data.subjects[i].text for i in subjects], near_threshold)
    near_b = near_duplicates([data.bodies[j].text for j in sorted(test_b)], [data.bodies[j].text for j in bodies], near_threshold)
    subjects = [i for n, i in enumerate(subjects) if n not in near_s]
    bodies = [j for n, j in enumerate(bodies) if n not in near_b]
    return Split(train_subjects=subjects, train_bodies=bodies, test_messages=list(test_messages),
                 removed_exact=removed_exact, removed_near=len(near_s) + len(near_b))


def fit_contest(data: ContestData, subjects: Sequence[int], bodies: Sequence[int], **kwargs: Any) -> TextClassifier:
    texts = [data.subjects[i].text for i in subjects] + [data.bodies[j].text for j in bodies]
    labels = [data.subjects[i].label for i in subjects] + [data.bodies[j].label for j in bodies]
    return fit(texts, {"level1": labels}, **kwargs)


def held_out_messages(data: ContestData, messages: Sequence[int]) -> tuple[list[Message], list[Message], list[str]]:
    """Subjects alone, (subject, body) pairs, labels."""
    subjects: list[Message] = [data.subjects[data.messages[m][0]].text for m in messages]
    pairs: list[Message] = [(data.subjects[data.messages[m][0]].text, data.bodies[data.messages[m][1]].text)
                            for m in messages]
    return subjects, pairs, [data.messages[m][2] for m in messages]


def train_contest_model(directory: str | Path, *, holdout: float = 0.2, seed: int = 2020, refit: bool = True,
                        log: Callable[[str], Any] = lambda _m: None) -> tuple[TextClassifier, dict[str, Any]]:
    """The ``classifier train`` command: hold out ``holdout`` of the complete messages (at least one
    fold of a 1/holdout split), train on the rest without their texts, measure, fit the confidence
    temperatures there, then (``refit``) train again on everything with the same settings."""
    started = time.perf_counter()
    data = load_contest(directory)
    log(f"数据：主题 {len(data.subjects)} 条，正文 {len(data.bodies)} 条，完整留言 {len(data.messages)} 条"
        f"（标签冲突而剔除 {data.dropped_conflicting} 条）")
    report: dict[str, Any] = {"data": {"directory": str(Path(directory).resolve().name), "files": data.files,
                                       "subjects": len(data.subjects), "bodies": len(data.bodies),
                                       "messages": len(data.messages),
                                       "dropped_conflicting_labels": data.dropped_conflicting}}
    model: TextClassifier | None = None
    if holdout > 0 and data.messages:
        n_folds = max(2, round(1 / holdout))
        folds = message_folds(data, n_folds, seed)
        test = [m for m, f in enumerate(folds) if f == 0]
        split = split_for(data, test)
        log(f"留出 {len(test)} 条完整留言评估；训练集去掉其主题/正文 {split.removed_exact} 条重复、{split.removed_near} 条近似重复")
        model = fit_contest(data, split.train_subjects, split.train_bodies)
        subjects, pairs, y = held_out_messages(data, test)
        calibrate(model, "level1", subjects + pairs, y + y)
        metrics: dict[str, Any] = {
            "protocol": (f"held-out {len(test)} complete messages (fold 1 of {n_folds}, seed {seed}); training kept no "
                         f"subject or body of them, nor near-copies (char-bigram cosine >= {NEAR_DUPLICATE_COSINE})"),
            "subject": _summary(evaluate(model, subjects, y)),
            "subject_body": _summary(evaluate(model, pairs, y)),
            "train_subjects": len(split.train_subjects), "train_bodies": len(split.train_bodies),
            "removed_exact": split.removed_exact, "removed_near": split.removed_near,
            "calibration": "temperatures fitted on the held-out messages",
        }
        report["metrics"] = metrics
        log(f"留出集：仅主题 macro-F1 {metrics['subject']['macro_f1']}，主题+正文 macro-F1 {metrics['subject_body']['macro_f1']}")
    if model is None or refit:
        temperatures = model.heads["level1"] if model else None
        model = fit_contest(data, range(len(data.subjects)), range(len(data.bodies)))
        if temperatures is not None:
            model.heads["level1"].temperature_single = temperatures.temperature_single
            model.heads["level1"].temperature_pair = temperatures.temperature_pair
        report["refit_on_all_data"] = True
    report["seconds"] = round(time.perf_counter() - started, 1)
    model.header.update({"source": "contest", "training": report, "metrics": report.get("metrics", {})})
    return model, report


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in ("n", "accuracy", "macro_f1", "top3_accuracy", "per_class_f1", "labels", "confusion")
            if k in result}


def stable_bucket(key: str, buckets: int = 5) -> int:
    """A bucket from a text's dedupe key, the same in every process and every year (sha1, not hash())."""
    return int(hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:8], 16) % buckets


def label_counts(labels: Sequence[str | None]) -> Counter:
    return Counter(label for label in labels if label is not None)


__all__ = [
    "ContestData", "Split", "calibrate", "evaluate", "fit", "fit_contest", "fit_temperature", "format_confusion",
    "held_out_messages", "load_contest", "message_folds", "near_duplicates", "normalise", "split_for",
    "stable_bucket", "train_contest_model",
]
