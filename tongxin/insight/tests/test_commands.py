"""``tongxin classifier train`` on a folder laid out like the contest data (written here, synthetic) and
``tongxin classifier predict``: one JSON object per input line."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tongxin.insight.classifier import TextClassifier

from .synthetic import TEMPLATES, sample

FILLER = "的了是在有和就不人都一也很到说要去会着没看好这那些什么怎么可以已经一直还是但是而且因为所以如果现在"


def _message(label: str, rng: random.Random) -> tuple[str, str]:
    """A subject and a body about the same thing, with some noise so that texts differ."""
    subject = sample(label, rng)
    body = sample(label, rng) + "".join(rng.choice(FILLER) for _ in range(12)) + sample(label, rng)
    return subject, body


@pytest.fixture
def data_dir(tmp_path) -> Path:
    rng = random.Random(4)
    directory = tmp_path / "messages"
    directory.mkdir()
    with (directory / "subjects.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "label"])
        for label in TEMPLATES:
            for _ in range(80):
                w.writerow([_message(label, rng)[0], label])
    with (directory / "details.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["detail", "label", "label_conflict"])
        for label in TEMPLATES:
            for _ in range(60):
                w.writerow([_message(label, rng)[1], label, "False"])
    with (directory / "messages_full.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "user", "subject", "time", "detail", "label"])
        for n, label in enumerate(list(TEMPLATES) * 20):
            subject, body = _message(label, rng)
            w.writerow([n, f"U{n:05d}", subject, "2019/1/1 10:00:00", body, label])
    return directory


def test_train_writes_a_versioned_model_and_its_report(data_dir, tmp_path):
    out = io.StringIO()
    model_path = tmp_path / "out" / "model.npz"
    call_command("classifier", "train", "--data", str(data_dir), "--out", str(model_path), stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "仅主题" in text and "主题+正文" in text and "macro-F1" in text
    model = TextClassifier.load(model_path)
    header = model.header
    assert header["format_version"] == 1 and header["sklearn_version"] and header["created_at"]
    assert header["heads"]["level1"]["labels"] == sorted(TEMPLATES)
    metrics = header["metrics"]
    assert metrics["subject"]["n"] == metrics["subject_body"]["n"] > 0
    assert metrics["subject_body"]["macro_f1"] >= 0.9
    assert header["training"]["refit_on_all_data"] is True
    assert set(header["training"]["data"]["files"]) == {"subjects.csv", "details.csv", "messages_full.csv"}
    report = json.loads((tmp_path / "out" / "model.report.json").read_text(encoding="utf-8"))
    assert report["metrics"] == metrics


def test_train_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="数据目录不存在"):
        call_command("classifier", "train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "m.npz"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match=r"subjects\.csv"):
        call_command("classifier", "train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "m.npz"),
                     stderr=io.StringIO())


def test_predict_writes_one_json_object_per_line(synthetic_model_file, monkeypatch):
    lines = ["阳光花园暖气不热，物业一直不来维修", "", "学校乱收费\t孩子所在学校要求家长交五百元资料费", "医院挂号排队三个小时"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    out = io.StringIO()
    call_command("classifier", "predict", "--model", synthetic_model_file, "--batch", "2", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == len(lines)
    assert rows[1] == {"top": [], "preselect": None}
    assert [r["top"][0]["category"] for r in (rows[0], rows[2], rows[3])] == ["城乡建设", "教育文体", "卫生计生"]
    for row in (rows[0], rows[2], rows[3]):
        assert len(row["top"]) == 3
        confidences = [t["confidence"] for t in row["top"]]
        assert confidences == sorted(confidences, reverse=True) and 0 < confidences[0] <= 1
        assert row["preselect"] == (row["top"][0]["category"] if confidences[0] >= 0.5 else None)


def test_predict_threshold_and_missing_model(synthetic_model_file, monkeypatch, tmp_path):
    monkeypatch.setattr("sys.stdin", io.StringIO("暖气不热\n"))
    out = io.StringIO()
    call_command("classifier", "predict", "--model", synthetic_model_file, "--threshold", "1.01", stdout=out)
    assert json.loads(out.getvalue())["preselect"] is None
    with pytest.raises(CommandError, match="模型文件不存在"):
        call_command("classifier", "predict", "--model", str(tmp_path / "nope.npz"), stdout=io.StringIO())


@pytest.mark.django_db
def test_predict_without_an_active_model_says_so(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("暖气不热\n"))
    with pytest.raises(CommandError, match="没有启用中的模型"):
        call_command("classifier", "predict", stdout=io.StringIO())


def test_the_real_command_line_reads_stdin(synthetic_model_file):
    """``tongxin classifier predict`` as a script would run it: a pipe in, JSON lines out."""
    import subprocess
    import sys

    tongxin = Path(sys.executable).parent / "tongxin"
    done = subprocess.run([str(tongxin), "classifier", "predict", "--model", synthetic_model_file],
                          input="学校乱收费\n医院挂号排队三个小时\n", capture_output=True, text=True, timeout=120, check=True)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["top"][0]["category"] for r in rows] == ["教育文体", "卫生计生"]
