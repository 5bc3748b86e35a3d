"""Benchmark of the category classifier on the real citizen messages: ``python bench/classify.py``.

Quality: k-fold cross-evaluation over the complete messages of ../shared/data/citizen-messages
(messages_full.csv: subject + body + label). In each fold the held-out messages' subjects and bodies,
and their near-copies, are removed from the training texts (tongxin/insight/training.py explains the
protocol); every complete message is predicted once, from its subject alone and from subject + body, and
the figures are pooled over the folds: accuracy, macro-F1, top-3 accuracy, per-class F1, confusion.

Speed: the last fold's model is saved, then a fresh Python process loads it (load time, peak RSS) and
classifies the held-out texts repeated to ``--messages`` items, in batches and one at a time, on one
core (CPU time; wall time is printed too, it suffers when the machine is shared).

``--baseline`` also runs the issue's reference point on the same folds: scikit-learn's character
1–3-gram TfidfVectorizer + LinearSVC, trained on subjects only (for subjects) and on subjects and bodies
(for subject + body, predicting the concatenated text).

Exit status: 0 when every target is met, 1 when one is missed, 2 when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tongxin.insight.training import (  # noqa: E402
    fit_contest,
    format_confusion,
    held_out_messages,
    load_contest,
    message_folds,
    metrics_from_scores,
    split_for,
)

DATA = ROOT.parent / "shared" / "data" / "citizen-messages"
TARGETS = {"subject_macro_f1": 0.92, "subject_body_macro_f1": 0.95, "top3_accuracy": 0.99,
           "messages_per_second": 2000, "load_seconds": 2.0, "rss_mb": 300}

SPEED_PROBE = r"""
import json, resource, sys, time
t0 = time.perf_counter(); c0 = time.process_time()
from tongxin.insight.classifier import TextClassifier
model = TextClassifier.load(sys.argv[1])
model.predict(["预热"])
load_wall, load_cpu = time.perf_counter() - t0, time.process_time() - c0
texts = json.load(open(sys.argv[2], encoding="utf-8"))
items = [tuple(t) if isinstance(t, list) else t for t in texts]
out = {"load_seconds": load_wall, "load_cpu_seconds": load_cpu}
for name, batch in (("batch_1000", 1000), ("single", 1)):
    n = len(items) if batch > 1 else min(len(items), 2000)
    c = time.process_time(); w = time.perf_counter()
    for i in range(0, n, batch):
        model.predict(items[i:i + batch])
    out[name] = {"n": n, "cpu_per_s": n / (time.process_time() - c), "wall_per_s": n / (time.perf_counter() - w)}
# VmHWM (peak RSS of this program), not getrusage's ru_maxrss: after fork + exec the latter still
# counts the benchmark's own (large) memory at fork time.
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
out["rss_mb"] = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def speed(model_path: Path, items: list, n: int) -> dict:
    reps = (n + len(items) - 1) // len(items)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump((items * reps)[:n], fh, ensure_ascii=False)
        texts_path = fh.name
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        out = subprocess.run([sys.executable, "-c", SPEED_PROBE, str(model_path), texts_path], env=env,
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        os.unlink(texts_path)


def baseline(data, split, test):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    subjects, pairs, _y = held_out_messages(data, test)
    s_only = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LinearSVC())
    s_only.fit([data.subjects[i].text for i in split.train_subjects], [data.subjects[i].label for i in split.train_subjects])
    both = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LinearSVC())
    both.fit([data.subjects[i].text for i in split.train_subjects] + [data.bodies[j].text for j in split.train_bodies],
             [data.subjects[i].label for i in split.train_subjects] + [data.bodies[j].label for j in split.train_bodies])
    return (s_only.decision_function(subjects), list(s_only.classes_),
            both.decision_function([s + " " + b for s, b in pairs]), list(both.classes_))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only-folds", type=int, default=0, help="run only the first N folds (quicker, noisier)")
    parser.add_argument("--messages", type=int, default=20000, help="items for the throughput measurement")
    parser.add_argument("--baseline", action="store_true", help="also run char TF-IDF + LinearSVC on the same folds")
    parser.add_argument("--json", help="write the figures to this file too")
    args = parser.parse_args()
    if not Path(args.data, "messages_full.csv").exists():
        print(f"no data at {args.data} (needs messages_full.csv, subjects.csv, details.csv): nothing to measure")
        return 2
    started = time.perf_counter()
    data = load_contest(args.data)
    print(f"data: {len(data.subjects)} unique subjects, {len(data.bodies)} unique bodies, {len(data.messages)} complete "
          f"messages ({data.dropped_conflicting} texts dropped for conflicting labels)")
    folds = message_folds(data, args.folds)
    runs = range(args.only_folds or args.folds)
    labels = None
    scores_s, scores_p, truth, base = [], [], [], {"s": [], "p": []}
    model = None
    for k in runs:
        test = [m for m, f in enumerate(folds) if f == k]
        split = split_for(data, test)
        t = time.process_time()
        model = fit_contest(data, split.train_subjects, split.train_bodies)
        fit_cpu = time.process_time() - t
        subjects, pairs, y = held_out_messages(data, test)
        labels = model.heads["level1"].labels
        scores_s.append(model.decision(subjects)[0])
        scores_p.append(model.decision(pairs)[0])
        truth.extend(y)
        print(f"fold {k + 1}/{args.folds}: {len(test)} held out; trained on {len(split.train_subjects)} subjects + "
              f"{len(split.train_bodies)} bodies (removed {split.removed_exact} exact and {split.removed_near} near "
              f"copies of held-out texts); fit {fit_cpu:.0f} s CPU", flush=True)
        if args.baseline:
            bs, bl, bp, bl2 = baseline(data, split, test)
            assert bl == labels and bl2 == labels
            base["s"].append(bs)
            base["p"].append(bp)
    results = {
        "subject": metrics_from_scores(np.vstack(scores_s), truth, labels),
        "subject_body": metrics_from_scores(np.vstack(scores_p), truth, labels),
    }
    if args.baseline:
        results["baseline_subject"] = metrics_from_scores(np.vstack(base["s"]), truth, labels)
        results["baseline_subject_body"] = metrics_from_scores(np.vstack(base["p"]), truth, labels)
    for name, r in results.items():
        print(f"\n== {name}: n {r['n']}  accuracy {r['accuracy']:.4f}  macro-F1 {r['macro_f1']:.4f}  "
              f"top-3 accuracy {r['top3_accuracy']:.4f}")
        print("per-class F1: " + ", ".join(f"{k} {v:.3f}" for k, v in r["per_class_f1"].items()))
        print(format_confusion(r))
    # Speed, in a fresh process, on the last fold's model.
    with tempfile.TemporaryDirectory() as tmp:
        path = model.save(Path(tmp) / "model.npz")
        size_mb = path.stat().st_size / 1e6
        subjects, pairs, _y = held_out_messages(data, [m for m, f in enumerate(folds) if f == runs[-1]])
        speed_s = speed(path, subjects, args.messages)
        speed_p = speed(path, pairs, args.messages)
    print(f"\n== speed (model file {size_mb:.1f} MB, {len(model.columns)} features)")
    for name, sp_ in (("subject", speed_s), ("subject+body", speed_p)):
        print(f"{name:13s} load {sp_['load_seconds']:.2f} s (CPU {sp_['load_cpu_seconds']:.2f} s)  "
              f"batches of 1000: {sp_['batch_1000']['cpu_per_s']:,.0f}/s CPU ({sp_['batch_1000']['wall_per_s']:,.0f}/s wall)  "
              f"one at a time: {sp_['single']['cpu_per_s']:,.0f}/s CPU  peak RSS {sp_['rss_mb']:.0f} MB")
    checks = {
        "subject macro-F1": (results["subject"]["macro_f1"], TARGETS["subject_macro_f1"], ">="),
        "subject+body macro-F1": (results["subject_body"]["macro_f1"], TARGETS["subject_body_macro_f1"], ">="),
        "subject+body top-3": (results["subject_body"]["top3_accuracy"], TARGETS["top3_accuracy"], ">="),
        "subject top-3": (results["subject"]["top3_accuracy"], TARGETS["top3_accuracy"], ">="),
        "subject+body msgs/s (CPU, batches)": (speed_p["batch_1000"]["cpu_per_s"], TARGETS["messages_per_second"], ">="),
        "subject msgs/s (CPU, batches)": (speed_s["batch_1000"]["cpu_per_s"], TARGETS["messages_per_second"], ">="),
        "load seconds": (max(speed_s["load_seconds"], speed_p["load_seconds"]), TARGETS["load_seconds"], "<="),
        "peak RSS MB": (max(speed_s["rss_mb"], speed_p["rss_mb"]), TARGETS["rss_mb"], "<="),
    }
    print("\n== targets")
    ok = True
    for name, (value, target, op) in checks.items():
        met = value >= target if op == ">=" else value <= target
        ok &= met
        print(f"{'met   ' if met else 'MISSED'} {name}: {value:,.4g} (target {op} {target:,})")
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "speed": {"subject": speed_s, "subject_body": speed_p},
                                               "model_mb": size_mb}, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
