"""Alternatives to the shipped category classifier, on bench/classify.py's folds: ``python bench/classify_variants.py``.

The protocol is bench/classify.py's, unchanged: the same 5 folds of the 1,234 complete messages
(training.message_folds), the same training texts per fold (training.split_for: no held-out subject or
body, no near-copy of one). Each variant is trained on that fold's training texts only and scores the
held-out messages from the subject alone and from subject + body (late fusion, as the product does).

Unlabelled text (semi-supervised variants): the subjects and bodies of messages_with_votes.csv and
messages_with_replies.csv. In each fold the pool loses every text equal to a held-out subject or body
and every near-copy of one (the same character-bigram cosine ≥ 0.8 as split_for), and every text already
among the labelled training texts.

Printed per variant: pooled macro-F1 / top-3 from subjects and from subject + body, the per-fold macro-F1
(min–max) and the mean per-fold difference to the shipped model with its spread. ``--variants a,b`` runs
a subset; ``--list`` names them. The messages are read from ../shared/data and never written anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from tongxin.insight.textfeatures import (  # noqa: E402
    char_ngram_counts_of,
    dedupe_key,
    document_frequency,
    smooth_idf,
    tfidf,
)
from tongxin.insight.training import (  # noqa: E402
    NEAR_DUPLICATE_COSINE,
    _read_csv,
    held_out_messages,
    load_contest,
    message_folds,
    metrics_from_scores,
    near_duplicates,
    split_for,
)

DATA = ROOT.parent / "shared" / "data" / "citizen-messages"
UNLABELLED = (("messages_with_votes.csv", "留言主题", "留言详情"), ("messages_with_replies.csv", "留言主题", "留言详情"))


# --- features -----------------------------------------------------------------------------------------

class CharTfidf:
    """The shipped features: hashed char 1–4-grams, min_df 3, sublinear tf × smooth idf, L2 rows;
    training reads 600 characters of a text, prediction 300."""

    def __init__(self, texts: list[str], *, min_df: int = 3, ngram=(1, 4), train_chars: int = 600, chars: int = 300):
        self.ngram, self.chars = ngram, chars
        counts = char_ngram_counts_of(texts, max_chars=train_chars, ngram=ngram)
        df = document_frequency(counts)
        self.columns = np.flatnonzero(df >= min_df).astype(np.int64)
        self.idf = smooth_idf(df[self.columns], len(texts)).astype(np.float32)
        self.train = tfidf(counts, self.columns, self.idf)

    def __call__(self, texts: list[str], chars: int | None = None) -> sp.csr_matrix:
        return tfidf(char_ngram_counts_of(texts, max_chars=self.chars if chars is None else chars, ngram=self.ngram),
                     self.columns, self.idf)


@dataclass
class Fold:
    k: int
    train_texts: list[str]
    train_labels: np.ndarray
    n_subjects: int  # train_texts[:n_subjects] are subjects, the rest bodies
    test_subjects: list[str]
    test_bodies: list[str]
    truth: list[str]
    unlabelled: list[tuple[str, str]]  # (subject, body) of unlabelled messages, cleaned for this fold
    feats: CharTfidf | None = None

    def features(self) -> CharTfidf:
        if self.feats is None:
            self.feats = CharTfidf(self.train_texts)
        return self.feats


def unlabelled_messages(directory: Path) -> list[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for name, subject, body in UNLABELLED:
        path = directory / name
        if not path.exists():
            continue
        for row in _read_csv(path):
            key = (dedupe_key(row.get(subject)), dedupe_key(row.get(body)))
            if key[0] and key[1] and key not in seen:
                seen.add(key)
                out.append((row[subject], row[body]))
    return out


def clean_pool(pool: list[tuple[str, str]], data, split, test: list[int]) -> list[tuple[str, str]]:
    """Drop every unlabelled message whose subject or body equals or nearly copies a held-out one, or
    is already a labelled training text."""
    test_s = [data.subjects[data.messages[m][0]].text for m in test]
    test_b = [data.bodies[data.messages[m][1]].text for m in test]
    banned = {dedupe_key(t) for t in test_s + test_b}
    banned |= {data.subjects[i].key for i in split.train_subjects} | {data.bodies[j].key for j in split.train_bodies}
    pool = [(s, b) for s, b in pool if dedupe_key(s) not in banned and dedupe_key(b) not in banned]
    near = near_duplicates(test_s, [s for s, _b in pool]) | near_duplicates(test_b, [b for _s, b in pool])
    # Subjects also against held-out bodies' openings would be stricter still; equal-or-near on the
    # same side is what split_for applies to labelled texts.
    return [m for n, m in enumerate(pool) if n not in near]


# --- learners ---------------------------------------------------------------------------------------------

def svm(X, y, C=1.0):
    from sklearn.svm import LinearSVC

    return LinearSVC(C=C, class_weight="balanced").fit(X, y)


def sgd_mh(X, y):
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="modified_huber", alpha=2e-5, class_weight="balanced", max_iter=30, tol=None,
                         random_state=0).fit(X, y)


def logreg(X, y, C=20.0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=300).fit(X, y)


def zscore(s: np.ndarray) -> np.ndarray:
    return (s - s.mean(axis=1, keepdims=True)) / (s.std(axis=1, keepdims=True) + 1e-9)


# Each variant: fold → (subject scores, body scores), both held-out messages × classes (sorted labels);
# subject + body = subject + w · body with w = 1 unless the variant returns a third value.
Variant = Callable[[Fold], tuple]


def v_shipped(f: Fold):
    feats = f.features()
    m = svm(feats.train, f.train_labels)
    return m.decision_function(feats(f.test_subjects)), m.decision_function(feats(f.test_bodies))


def _self_train(f: Fold, keep: float, rounds: int = 1, weight: float = 1.0):
    feats = f.features()
    X, y = feats.train, f.train_labels
    m = svm(X, y)
    if not f.unlabelled:
        return m.decision_function(feats(f.test_subjects)), m.decision_function(feats(f.test_bodies))
    us = feats([s for s, _b in f.unlabelled])
    ub = feats([b for _s, b in f.unlabelled])
    for _ in range(rounds):
        fused = m.decision_function(us) + m.decision_function(ub)
        top2 = np.sort(fused, axis=1)[:, -2:]
        margin = top2[:, 1] - top2[:, 0]
        chosen = np.flatnonzero(margin >= np.quantile(margin, 1 - keep))
        pseudo = m.classes_[fused[chosen].argmax(axis=1)]
        Xa = sp.vstack([X, us[chosen], ub[chosen]]).tocsr()
        ya = np.concatenate([y, pseudo, pseudo])
        w = np.concatenate([np.ones(len(y)), np.full(2 * len(chosen), weight)])
        from sklearn.svm import LinearSVC

        m = LinearSVC(C=1.0, class_weight="balanced").fit(Xa, ya, sample_weight=w)
    return m.decision_function(feats(f.test_subjects)), m.decision_function(feats(f.test_bodies))


def _lsa(f: Fold, n_components: int, weight: float):
    from sklearn.decomposition import TruncatedSVD

    feats = f.features()
    unl = feats([t for m in f.unlabelled for t in m], chars=600) if f.unlabelled else None
    corpus = sp.vstack([feats.train, unl]).tocsr() if unl is not None else feats.train
    svd = TruncatedSVD(n_components=n_components, algorithm="randomized", n_iter=3, random_state=0).fit(corpus)

    def stack(X):
        Z = svd.transform(X)
        Z /= np.linalg.norm(Z, axis=1, keepdims=True) + 1e-9
        return sp.hstack([X, sp.csr_matrix(Z * weight)]).tocsr()

    m = svm(stack(feats.train), f.train_labels)
    return m.decision_function(stack(feats(f.test_subjects))), m.decision_function(stack(feats(f.test_bodies)))


def _ensemble(f: Fold, members: tuple[str, ...]):
    feats = f.features()
    Xs, Xb = feats(f.test_subjects), feats(f.test_bodies)
    outs_s, outs_b = [], []
    for name in members:
        if name == "svm":
            m = svm(feats.train, f.train_labels)
            outs_s.append(zscore(m.decision_function(Xs)))
            outs_b.append(zscore(m.decision_function(Xb)))
        elif name == "sgd":
            m = sgd_mh(feats.train, f.train_labels)
            outs_s.append(zscore(m.decision_function(Xs)))
            outs_b.append(zscore(m.decision_function(Xb)))
        elif name == "lr":
            m = logreg(feats.train, f.train_labels)
            outs_s.append(zscore(m.decision_function(Xs)))
            outs_b.append(zscore(m.decision_function(Xb)))
        elif name == "cnb":
            s, b = _cnb_scores(f)
            outs_s.append(zscore(s))
            outs_b.append(zscore(b))
    return sum(outs_s) / len(outs_s), sum(outs_b) / len(outs_b)


_JIEBA: dict[str, str] = {}


def _words(texts: list[str], chars: int) -> list[str]:
    import jieba

    jieba.setLogLevel(60)
    out = []
    for t in texts:
        t = t[:chars]
        if t not in _JIEBA:
            _JIEBA[t] = " ".join(w for w in jieba.lcut(t, HMM=False) if w.strip())
        out.append(_JIEBA[t])
    return out


def _cnb_scores(f: Fold):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import ComplementNB

    vec = TfidfVectorizer(token_pattern=r"(?u)\S+", ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    X = vec.fit_transform(_words(f.train_texts, 600))
    m = ComplementNB(alpha=0.3).fit(X, f.train_labels)
    return (m.predict_log_proba(vec.transform(_words(f.test_subjects, 300))),
            m.predict_log_proba(vec.transform(_words(f.test_bodies, 300))))


def _noise_clean(f: Fold, margin: float):
    """Drop training texts whose label disagrees with a 5-fold cross-validated prediction by at least
    ``margin`` (score of the predicted class minus score of the label; 3 inner folds). Held-out labels are untouched."""
    from sklearn.model_selection import StratifiedKFold

    feats = f.features()
    X, y = feats.train, f.train_labels
    oof = np.zeros((len(y), 7))
    classes = np.array(sorted(set(y)))
    for tr, te in StratifiedKFold(3, shuffle=True, random_state=0).split(X, y):
        oof[te] = svm(X[tr], y[tr]).decision_function(X[te])
    yi = np.searchsorted(classes, y)
    gap = oof.max(axis=1) - oof[np.arange(len(y)), yi]
    keep = np.flatnonzero(gap < margin)
    m = svm(X[keep], y[keep])
    print(f"    fold {f.k + 1}: noise cleaning (margin {margin}) dropped {len(y) - len(keep)} of {len(y)} training texts",
          flush=True)
    return m.decision_function(feats(f.test_subjects)), m.decision_function(feats(f.test_bodies))


def _nbsvm(f: Fold, beta: float = 1.0):
    """NB-SVM (Wang & Manning 2012), one binary SVM per class on features scaled by the class's
    log-count ratio (computed on binarised training features, smoothing 1)."""
    from sklearn.svm import LinearSVC

    feats = f.features()
    X = feats.train
    Xbin = X.copy()
    Xbin.data[:] = 1.0
    Xs, Xb = feats(f.test_subjects), feats(f.test_bodies)
    classes = sorted(set(f.train_labels))
    out_s, out_b = [], []
    for c in classes:
        pos = f.train_labels == c
        p = np.asarray(Xbin[pos].sum(axis=0)).ravel() + 1.0
        q = np.asarray(Xbin[~pos].sum(axis=0)).ravel() + 1.0
        r = np.log((p / p.sum()) / (q / q.sum()))
        scale = sp.diags(np.abs(r) ** beta)
        weight = {True: len(pos) / (2 * pos.sum()), False: len(pos) / (2 * (~pos).sum())}
        m = LinearSVC(C=1.0, class_weight=weight).fit(X @ scale, pos)
        out_s.append(m.decision_function(Xs @ scale))
        out_b.append(m.decision_function(Xb @ scale))
    return np.column_stack(out_s), np.column_stack(out_b)


def _taxonomy_texts(f: Fold, directory: Path = DATA):
    """The board's level-2 and level-3 category names as extra training texts of their level-1 class."""
    rows = _read_csv(directory / "taxonomy.csv")
    classes = set(f.train_labels)
    extra = sorted({(r[col], r["level1"]) for r in rows for col in ("level2", "level3")
                    if r["level1"] in classes and r.get(col)})
    feats = CharTfidf(f.train_texts + [t for t, _c in extra])
    y = np.concatenate([f.train_labels, [c for _t, c in extra]])
    m = svm(feats.train, y)
    return m.decision_function(feats(f.test_subjects)), m.decision_function(feats(f.test_bodies))


VARIANTS: dict[str, Variant] = {
    "nbsvm": _nbsvm,
    "nbsvm_b05": lambda f: _nbsvm(f, 0.5),
    "taxonomy_texts": _taxonomy_texts,
    "shipped": v_shipped,
    "self_train_50": lambda f: _self_train(f, 0.5),
    "self_train_80": lambda f: _self_train(f, 0.8),
    "self_train_100": lambda f: _self_train(f, 1.0),
    "self_train_80_w05": lambda f: _self_train(f, 0.8, weight=0.5),
    "self_train_80_x2": lambda f: _self_train(f, 0.8, rounds=2),
    "lsa_100_w05": lambda f: _lsa(f, 100, 0.5),
    "lsa_300_w05": lambda f: _lsa(f, 300, 0.5),
    "lsa_300_w1": lambda f: _lsa(f, 300, 1.0),
    "ens_svm_sgd_lr": lambda f: _ensemble(f, ("svm", "sgd", "lr")),
    "ens_svm_cnb": lambda f: _ensemble(f, ("svm", "cnb")),
    "ens_svm_sgd_lr_cnb": lambda f: _ensemble(f, ("svm", "sgd", "lr", "cnb")),
    "sgd_mh": lambda f: _ensemble(f, ("sgd",)),
    "logreg": lambda f: _ensemble(f, ("lr",)),
    "noise_clean_1.0": lambda f: _noise_clean(f, 1.0),
    "noise_clean_0.5": lambda f: _noise_clean(f, 0.5),
}


def build_folds(directory: Path, n_folds: int, with_pool: bool, near: float = NEAR_DUPLICATE_COSINE) -> tuple[list[Fold], list[str]]:
    data = load_contest(directory)
    folds_of = message_folds(data, n_folds)
    pool = unlabelled_messages(directory) if with_pool else []
    out = []
    for k in range(n_folds):
        test = [m for m, f in enumerate(folds_of) if f == k]
        split = split_for(data, test, near_threshold=near)
        subjects, pairs, y = held_out_messages(data, test)
        texts = [data.subjects[i].text for i in split.train_subjects] + [data.bodies[j].text for j in split.train_bodies]
        labels = [data.subjects[i].label for i in split.train_subjects] + [data.bodies[j].label for j in split.train_bodies]
        fold_pool = clean_pool(pool, data, split, test) if pool else []
        out.append(Fold(k=k, train_texts=texts, train_labels=np.array(labels), n_subjects=len(split.train_subjects),
                        test_subjects=subjects, test_bodies=[b for _s, b in pairs], truth=y, unlabelled=fold_pool))
        print(f"fold {k + 1}: {len(test)} held out, {len(texts)} training texts, {len(fold_pool)} unlabelled messages "
              f"(of {len(pool)})", flush=True)
    labels = sorted(set(out[0].train_labels))
    return out, labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--variants", default="", help="comma-separated names (default: all)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--weights", default="1.0", help="body fusion weights to report, comma-separated")
    parser.add_argument("--near", type=float, default=NEAR_DUPLICATE_COSINE,
                        help="near-copy threshold of the split (the protocol's is 0.8; other values only to test it)")
    parser.add_argument("--reference", help="JSON-lines file of an earlier run holding the shipped model's figures")
    parser.add_argument("--json", help="append the figures to this JSON-lines file")
    parser.add_argument("--dump-errors", help="write subject+body errors of the first variant (id, truth, predicted) "
                                              "to this file (outside the repository)")
    args = parser.parse_args()
    if args.list:
        print("\n".join(VARIANTS))
        return 0
    if not Path(args.data, "messages_full.csv").exists():
        print(f"no data at {args.data}: nothing to measure")
        return 2
    names = [n for n in args.variants.split(",") if n] or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants: {unknown}")
    reference: dict[float, list] = {}
    if args.reference:  # the shipped model's per-fold figures from an earlier --json run of these folds
        for line in Path(args.reference).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["variant"] == "shipped":
                reference[row["w"]] = [tuple(x) for x in row["fold_f1"]]
    if "shipped" not in names and not reference:
        names = ["shipped", *names]
    weights = [float(w) for w in args.weights.split(",")]
    folds, labels = build_folds(Path(args.data), args.folds, any(n.startswith(("self_", "lsa")) for n in names),
                                 args.near)
    truth = [t for f in folds for t in f.truth]
    per_fold_ref: dict[float, list[tuple[float, float]]] = dict(reference)
    for name in names:
        t0 = time.process_time()
        outs = [VARIANTS[name](f) for f in folds]
        cpu = time.process_time() - t0
        for w in weights:
            s = np.vstack([o[0] for o in outs])
            p = np.vstack([o[0] + w * o[1] for o in outs])
            rs, rp = metrics_from_scores(s, truth, labels), metrics_from_scores(p, truth, labels)
            fold_f1 = [(metrics_from_scores(o[0], f.truth, labels)["macro_f1"],
                        metrics_from_scores(o[0] + w * o[1], f.truth, labels)["macro_f1"]) for o, f in zip(outs, folds, strict=True)]
            if name == "shipped":
                per_fold_ref[w] = fold_f1
            ref = per_fold_ref.get(w, per_fold_ref.get(1.0, fold_f1))
            ds = np.array([a[0] - b[0] for a, b in zip(fold_f1, ref, strict=True)])
            dp = np.array([a[1] - b[1] for a, b in zip(fold_f1, ref, strict=True)])
            print(f"{name:22s} w={w:<4} subject F1 {rs['macro_f1']:.4f} top3 {rs['top3_accuracy']:.4f} "
                  f"(folds {min(x[0] for x in fold_f1):.3f}–{max(x[0] for x in fold_f1):.3f}, Δ {ds.mean():+.4f} ± {ds.std(ddof=1):.4f}) | "
                  f"s+b F1 {rp['macro_f1']:.4f} top3 {rp['top3_accuracy']:.4f} "
                  f"(folds {min(x[1] for x in fold_f1):.3f}–{max(x[1] for x in fold_f1):.3f}, Δ {dp.mean():+.4f} ± {dp.std(ddof=1):.4f}) "
                  f"[{cpu:.0f} s CPU]", flush=True)
            if args.json:
                with open(args.json, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"variant": name, "w": w, "subject": rs, "subject_body": rp, "fold_f1": fold_f1,
                                         "cpu_s": cpu}, ensure_ascii=False) + "\n")
        if args.dump_errors and name == names[0]:
            p = np.vstack([o[0] + o[1] for o in outs])
            predicted = np.array(labels)[p.argmax(axis=1)]
            pairs = [(s, b, t) for f in folds for s, b, t in zip(f.test_subjects, f.test_bodies, f.truth, strict=True)]
            rows = [{"subject": s, "body": b[:300], "truth": t, "predicted": str(q)}
                    for (s, b, t), q in zip(pairs, predicted, strict=True)]
            Path(args.dump_errors).write_text(json.dumps([r for r in rows if r["truth"] != r["predicted"]],
                                                         ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
