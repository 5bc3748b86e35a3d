"""Text → sparse features for the classifier, fast and without a vocabulary.

Chinese needs no tokeniser for this job: overlapping character n-grams (1–4 characters) carry the words
and their neighbours. Each n-gram is hashed into a fixed space of ``n_features`` columns (the "hashing
trick"), so nothing has to be looked up in a dictionary at prediction time and a model file loads in
milliseconds. The hashing runs over a whole batch at once in numpy (a rolling polynomial hash of the
code points, mixed by the splitmix64 finaliser), about 50 times faster than building the n-gram strings
in Python as scikit-learn's analyser does.

These functions are pure and know nothing of Django; the benchmark and the training code use them as is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

_WS = re.compile(r"\s+")
_PUNCT = re.compile(r"[\s\W_]+")

_P = np.uint64(0x100000001B3)  # FNV prime: the polynomial base of the rolling hash
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_SALT = [np.uint64((n * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) for n in range(16)]


def normalise(text: str | None) -> str:
    """NFKC (full-width → half-width), lower case, runs of white space → one space."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text or "").lower()).strip()


def dedupe_key(text: str | None) -> str:
    """The key two texts must share to count as the same text: normalised, punctuation and spaces
    removed. Used to deduplicate before splitting, so no text sits on both sides of an evaluation."""
    return _PUNCT.sub("", normalise(text))


def _mix(h: np.ndarray) -> np.ndarray:
    # splitmix64's finaliser: neighbouring polynomial hashes land far apart. uint64 arithmetic wraps.
    h = h ^ (h >> _S30)
    h = h * _M1
    h = h ^ (h >> _S27)
    h = h * _M2
    return h ^ (h >> _S31)


def char_ngram_counts(texts: Sequence[str], *, ngram: tuple[int, int] = (1, 4), n_features: int = 2**21) -> sp.csr_matrix:
    """Counts of hashed character n-grams, one row per text (texts are used as given: normalise first).

    N-grams never cross from one text into the next. Returns a CSR matrix of float64 counts."""
    lo, hi = ngram
    n_docs = len(texts)
    arrays = [np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32) for t in texts]
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=n_docs)
    total = int(lengths.sum())
    if total == 0:
        return sp.csr_matrix((n_docs, n_features), dtype=np.float64)
    codes = np.concatenate(arrays).astype(np.uint64) + np.uint64(1)
    ends = np.cumsum(lengths)
    doc = np.repeat(np.arange(n_docs), lengths)
    end_of = ends[doc]
    position = np.arange(total)
    h = np.zeros(total, dtype=np.uint64)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    modulus = np.uint64(n_features)
    with np.errstate(over="ignore"):
        for n in range(1, hi + 1):
            m = total - n + 1
            if m <= 0:
                break
            h = h[:m] * _P + codes[n - 1:]
            if n >= lo:
                inside = position[:m] + n <= end_of[:m]
                rows.append(doc[:m][inside])
                cols.append((_mix(h[inside] ^ _SALT[n]) % modulus).astype(np.int64))
    # One sort of (row, column) keys gives the CSR arrays directly: unique keys are the entries,
    # their multiplicities the counts.
    keys, counts = np.unique(np.concatenate(rows) * n_features + np.concatenate(cols), return_counts=True)
    row_of = keys // n_features
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of, minlength=n_docs))])
    return sp.csr_matrix((counts.astype(np.float64), (keys % n_features).astype(np.int32), indptr),
                         shape=(n_docs, n_features))


def char_ngram_counts_of(texts: Sequence[str], *, max_chars: int, ngram: tuple[int, int] = (1, 4),
                         n_features: int = 2**21) -> sp.csr_matrix:
    """Normalise, keep the first ``max_chars`` characters (0: all), count hashed n-grams."""
    prepared = [normalise(t)[:max_chars] if max_chars else normalise(t) for t in texts]
    return char_ngram_counts(prepared, ngram=ngram, n_features=n_features)


def document_frequency(counts: sp.csr_matrix) -> np.ndarray:
    """How many rows each column appears in."""
    return np.bincount(counts.indices, minlength=counts.shape[1])


def smooth_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """scikit-learn's smoothed idf: ln((1 + n) / (1 + df)) + 1."""
    return np.log((1.0 + n_docs) / (1.0 + df)) + 1.0


def tfidf(counts: sp.csr_matrix, columns: np.ndarray, idf: np.ndarray) -> sp.csr_matrix:
    """Keep the model's ``columns`` (sorted hashed ids), renumber them 0..k-1, apply sublinear tf
    (1 + ln tf) and idf, and L2-normalise each row. Unknown columns are dropped."""
    counts = counts.tocsr()
    if not counts.has_sorted_indices:
        counts.sort_indices()
    where = np.searchsorted(columns, counts.indices)
    where_clipped = np.minimum(where, len(columns) - 1) if len(columns) else where
    known = (where < len(columns)) & (columns[where_clipped] == counts.indices) if len(columns) else np.zeros(0, bool)
    row_of = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))[known]
    # Columns are sorted and the renumbering keeps their order, so the kept entries of each row stay
    # sorted: the CSR arrays can be written directly (no COO round trip).
    kept_per_row = np.bincount(row_of, minlength=counts.shape[0])
    indptr = np.concatenate([[0], np.cumsum(kept_per_row)]).astype(np.int64)
    c = where[known]
    values = (1.0 + np.log(counts.data[known])) * idf[c]
    norms = np.sqrt(np.bincount(row_of, weights=values * values, minlength=counts.shape[0]))
    norms[norms == 0] = 1.0
    values = (values / norms[row_of]).astype(np.float32)
    return sp.csr_matrix((values, c.astype(np.int32), indptr), shape=(counts.shape[0], len(columns)))
