"""The classifier without a database: features, training → file → prediction round trip, the file's
header and its guards, calibration."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from tongxin.insight.classifier import (
    FORMAT_VERSION,
    ModelFileError,
    TextClassifier,
    clear_cache,
    load_cached,
)
from tongxin.insight.textfeatures import char_ngram_counts, dedupe_key, normalise, smooth_idf, tfidf
from tongxin.insight.training import calibrate, evaluate, fit, fit_temperature

from .synthetic import corpus


@pytest.fixture(scope="module")
def trained() -> TextClassifier:
    texts, labels = corpus(60, seed=1)
    return fit(texts, {"level1": labels})


# --- features -----------------------------------------------------------------------------------------

def test_normalise_and_dedupe_key():
    assert normalise("  ＡＢＣ　小区\n暖气 ") == "abc 小区 暖气"
    assert dedupe_key("小区暖气不热！") == dedupe_key("小区 暖气，不热")


def test_char_ngrams_count_every_ngram_once_and_never_cross_texts():
    counts = char_ngram_counts(["暖气不热", "", "ab"], ngram=(1, 4), n_features=2**20)
    # "暖气不热": 4 + 3 + 2 + 1 n-grams; "ab": 2 + 1; the empty text none.
    assert counts.sum(axis=1).ravel().tolist() == [[10.0, 0.0, 3.0]]
    # Hashing is deterministic and a text's n-grams do not depend on its neighbours in the batch.
    alone = char_ngram_counts(["ab"], ngram=(1, 4), n_features=2**20)
    assert (alone != counts[2]).nnz == 0
    # The join of two texts has n-grams the texts alone do not: none of those may appear above.
    joined = char_ngram_counts(["热ab"], ngram=(2, 2), n_features=2**20)
    crossing = char_ngram_counts(["热a"], ngram=(2, 2), n_features=2**20).indices[0]
    assert crossing in joined.indices
    assert crossing not in char_ngram_counts(["暖气不热", "ab"], ngram=(2, 2), n_features=2**20).indices


def test_tfidf_rows_are_unit_length_and_unknown_columns_are_dropped():
    counts = char_ngram_counts(["暖气不热", "学校收费", "zzz"], n_features=2**20)
    columns = np.unique(char_ngram_counts(["暖气不热", "学校收费"], n_features=2**20).indices).astype(np.int64)
    idf = smooth_idf(np.ones(len(columns)), 2).astype(np.float32)
    matrix = tfidf(counts, columns, idf)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    assert norms[:2] == pytest.approx([1.0, 1.0], abs=1e-6)
    assert norms[2] == 0  # nothing known


# --- round trip ---------------------------------------------------------------------------------------

def test_round_trip_predicts_the_same_and_keeps_the_header(trained, tmp_path):
    path = trained.save(tmp_path / "m.npz")
    loaded = TextClassifier.load(path)
    assert loaded.header["format_version"] == FORMAT_VERSION
    assert loaded.header["format"] == "tongxin-insight-classifier"
    assert loaded.header["sklearn_version"]
    assert loaded.heads["level1"].labels == ["卫生计生", "城乡建设", "教育文体"]
    texts, _labels = corpus(10, seed=99)
    before, after = trained.predict(texts), loaded.predict(texts)
    assert [[(p.label, p.confidence) for p in row] for row in before] == [[(p.label, p.confidence) for p in row] for row in after]


def test_predictions_are_right_ranked_and_confidences_are_probabilities(trained):
    texts, labels = corpus(20, seed=7)  # unseen samples (another seed)
    rows = trained.predict(texts, k=3)
    assert all(len(row) == 3 for row in rows)
    assert all(row[0].confidence >= row[1].confidence >= row[2].confidence for row in rows)
    assert all(0.99 <= sum(p.confidence for p in row) <= 1.01 for row in rows)  # 3 classes: all of them
    accuracy = np.mean([row[0].label == label for row, label in zip(rows, labels, strict=True)])
    assert accuracy >= 0.95
    assert trained.predict(["医院挂号排队太久"])[0][0].label == "卫生计生"
    assert trained.predict([("学校乱收费", "孩子所在学校要求交资料费")])[0][0].label == "教育文体"


def test_title_and_body_are_scored_apart_and_added(trained):
    title, body = "路灯坏了", "楼道灯坏了物业不修"
    pair, _ = trained.decision([(title, body)])
    single, _ = trained.decision([title, body])
    assert pair[0] == pytest.approx(single[0] + single[1], rel=1e-5)
    # An empty body leaves the title as the only text.
    assert trained.decision([(title, "")])[0][0] == pytest.approx(single[0], rel=1e-6)


def test_evaluate_reports_the_figures(trained):
    texts, labels = corpus(15, seed=3)
    result = evaluate(trained, texts, labels)
    assert result["n"] == 45 and result["macro_f1"] >= 0.95 and result["top3_accuracy"] == 1.0
    assert sum(map(sum, result["confusion"])) == 45


def test_temperature_fit_lowers_the_log_loss(trained):
    texts, labels = corpus(30, seed=5)
    scores, _ = trained.decision(texts)
    y = np.array([trained.heads["level1"].labels.index(label) for label in labels])
    t = fit_temperature(scores, y)

    def nll(temperature: float) -> float:
        z = scores / temperature
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return float(-np.mean(np.log(p[np.arange(len(y)), y])))

    assert nll(t) <= nll(1.0) + 1e-9
    calibrate(trained, "level1", texts, labels)
    assert trained.heads["level1"].temperature_single == pytest.approx(t)


def test_two_class_head_gets_two_score_rows():
    texts, labels = corpus(30)
    keep = [i for i, label in enumerate(labels) if label != "卫生计生"]
    model = fit([texts[i] for i in keep], {"level1": [labels[i] for i in keep]})
    assert model.heads["level1"].coef.shape[0] == 2
    assert model.predict(["暖气不热物业不修"])[0][0].label == "城乡建设"
    assert model.predict(["学校乱收费"])[0][0].label == "教育文体"


# --- the file's guards ----------------------------------------------------------------------------------

def test_load_is_cached_per_process_until_the_file_changes(trained, tmp_path):
    clear_cache()
    path = trained.save(tmp_path / "m.npz")
    first = load_cached(path)
    assert load_cached(path) is first
    trained.save(path)  # rewritten: a new mtime
    import os

    os.utime(path, (1, 1))
    assert load_cached(path) is not first


def test_wrong_version_and_foreign_files_are_refused(trained, tmp_path):
    path = trained.save(tmp_path / "m.npz")
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(bytes(arrays["header"]).decode())
    header["format_version"] = FORMAT_VERSION + 1
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    future = tmp_path / "future.npz"
    with future.open("wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(ModelFileError) as error:
        TextClassifier.load(future)
    assert error.value.code == "classifier_model_version"
    junk = tmp_path / "junk.npz"
    with zipfile.ZipFile(junk, "w") as z:
        z.writestr("x.txt", "not a model")
    with pytest.raises(ModelFileError):
        TextClassifier.load(junk)
    with pytest.raises(ModelFileError) as missing:
        TextClassifier.load(tmp_path / "absent.npz")
    assert missing.value.code == "classifier_model_missing"


def test_a_pickled_object_in_the_file_is_never_executed(trained, tmp_path):
    """allow_pickle=False: a model file cannot carry code."""
    path = trained.save(tmp_path / "m.npz")
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["idf"] = np.array([object()], dtype=object)
    evil = tmp_path / "evil.npz"
    with evil.open("wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(ModelFileError):
        TextClassifier.load(evil)
