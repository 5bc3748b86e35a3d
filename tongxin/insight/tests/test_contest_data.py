"""Accuracy on the real citizen messages (../shared/data/citizen-messages), on a fixed split.

The data never enters the repository: the test reads it beside the checkout and skips when it is
absent. One fold of five: 247 complete messages held out; training keeps no subject or body of theirs
nor a near-copy. The floors below are what this split measures today (docs/insight.md) less a margin,
so that a regression fails; the issue's targets (macro-F1 0.92 from subjects, 0.95 from subject + body)
are NOT reached — bench/classify.py prints the full 5-fold figures against them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tongxin.insight.training import (
    calibrate,
    evaluate,
    fit_contest,
    held_out_messages,
    load_contest,
    message_folds,
    split_for,
)

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "citizen-messages"

pytestmark = pytest.mark.skipif(
    not (DATA / "messages_full.csv").exists(),
    reason=f"the citizen-messages data is not at {DATA} (it is never committed; CI puts shared/ beside the checkout)",
)


@pytest.fixture(scope="module")
def data():
    return load_contest(DATA)


def test_split_keeps_every_held_out_text_out_of_training(data):
    folds = message_folds(data, 5)
    test = [m for m, f in enumerate(folds) if f == 0]
    split = split_for(data, test)
    held_subjects = {data.subjects[data.messages[m][0]].key for m in test}
    held_bodies = {data.bodies[data.messages[m][1]].key for m in test}
    assert not held_subjects & {data.subjects[i].key for i in split.train_subjects}
    assert not held_bodies & {data.bodies[j].key for j in split.train_bodies}
    assert not (held_subjects | held_bodies) & ({data.subjects[i].key for i in split.train_subjects}
                                                | {data.bodies[j].key for j in split.train_bodies})
    # Messages sharing a subject or a body are in the same fold.
    by_subject: dict[int, set[int]] = {}
    for m, (s, _b, _label) in enumerate(data.messages):
        by_subject.setdefault(s, set()).add(folds[m])
    assert all(len(f) == 1 for f in by_subject.values())


def test_accuracy_on_held_out_messages(data):
    folds = message_folds(data, 5)
    test = [m for m, f in enumerate(folds) if f == 0]
    split = split_for(data, test)
    model = fit_contest(data, split.train_subjects, split.train_bodies)
    subjects, pairs, y = held_out_messages(data, test)
    subject = evaluate(model, subjects, y)
    both = evaluate(model, pairs, y)
    assert len(model.heads["level1"].labels) == 7
    assert subject["macro_f1"] >= 0.86, subject
    assert both["macro_f1"] >= 0.88, both
    assert both["top3_accuracy"] >= 0.99, both
    assert subject["top3_accuracy"] >= 0.97, subject
    calibrate(model, "level1", subjects + pairs, y + y)
    top = model.predict(pairs[:50])
    assert all(0 < row[0].confidence <= 1 for row in top)
