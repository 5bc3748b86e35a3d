"""Benchmark of the duplicate finder (并单) on the constructed labelled set: ``python bench/duplicates.py``.

The set (tongxin/insight/evaluation.py, described in docs/insight.md) is synthetic: demo request
templates at random points of an urban area, some reported again by other people in their own words,
plus hard negatives (another problem at the same place; the same words elsewhere). The logistic weights
of ``DuplicateParams`` were fitted on the even-numbered incidents of seed 8; the figures that count are
those of the odd-numbered ones and of other seeds. Also shown: the same requests without coordinates
(only text, caller, category and time remain) and the time per ranking.

Exit status: 0 when precision and recall on the held-out half are both ≥ 0.85, else 1.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")

import django  # noqa: E402

django.setup()

from tongxin.insight.evaluation import Labelled, labelled_set, measure  # noqa: E402

TARGET = 0.85


def main() -> int:
    data = labelled_set(400, seed=8)
    incidents = sorted(set(data.incident_of.values()))
    tuning = {i for i in incidents if i % 2 == 0}
    held = set(incidents) - tuning
    print(f"labelled set: {len(data.requests)} reports of {len(incidents)} incidents (seed 8)")
    rows = []
    started = time.perf_counter()
    rows.append(("seed 8, tuning half (weights fitted here)", measure(data, incidents=tuning)))
    rows.append(("seed 8, held-out half", measure(data, incidents=held)))
    elapsed = time.perf_counter() - started
    for seed in (9, 10):
        rows.append((f"seed {seed}, all", measure(labelled_set(400, seed=seed))))
    blind = Labelled(requests=[replace(r, lat=None, lng=None) for r in data.requests], incident_of=data.incident_of)
    rows.append(("seed 8, held-out half, no coordinates", measure(blind, incidents=held)))
    print(f"{'':45s} {'reports':>7s} {'pairs':>6s} {'found':>6s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'top-1':>6s}")
    for name, r in rows:
        print(f"{name:45s} {r['reports']:7d} {r['true_pairs']:6d} {r['predicted_pairs']:6d} {r['precision']:9.3f} "
              f"{r['recall']:7.3f} {r['f1']:6.3f} {r['top1']:6.3f}")
    rankings = rows[0][1]["reports"] + rows[1][1]["reports"]
    print(f"\n{rankings} rankings in {elapsed:.1f} s ({1000 * elapsed / rankings:.1f} ms each, pools of the 7-day window)")
    held_result = rows[1][1]
    ok = held_result["precision"] >= TARGET and held_result["recall"] >= TARGET
    print(f"{'met' if ok else 'MISSED'}: held-out precision and recall ≥ {TARGET}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
