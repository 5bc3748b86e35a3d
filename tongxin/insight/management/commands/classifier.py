"""``tongxin classifier``: train, use and retrain the category classifier.

    tongxin classifier train --data DIR --out MODEL [--holdout 0.2] [--seed N] [--no-refit]
    tongxin classifier predict [--model MODEL] [--batch N] [--threshold P]  < texts  > json lines
    tongxin classifier retrain [--dry-run] [--min-orders N] [--out-dir DIR]
    tongxin classifier status

``train`` learns from a folder laid out like ../shared/data/citizen-messages and writes a versioned
model file plus ``MODEL.report.json``. ``predict`` reads one text per line (``subject<TAB>body`` for a
message with both) and writes one JSON object per line: the top three first-level categories with
confidences. ``retrain`` learns from the platform's closed work orders and replaces the active model
only if the new one scores at least as well on the held-out part of that history.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "智能分类模型：训练（train）、预测（predict）、用平台工单重新训练（retrain）、查看状态（status）。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{train,predict,retrain,status}")
        train = sub.add_parser("train", help="从留言数据目录训练模型")
        train.add_argument("--data", required=True, help="数据目录（subjects.csv、details.csv、messages_full.csv）")
        train.add_argument("--out", required=True, help="模型文件路径（.npz）；评估报告写在旁边（.report.json）")
        train.add_argument("--holdout", type=float, default=0.2, help="留出评估的完整留言比例（0 表示不评估）")
        train.add_argument("--seed", type=int, default=2020)
        train.add_argument("--no-refit", action="store_true", help="保存只用训练部分训练的模型（不在全部数据上重训）")
        predict = sub.add_parser("predict", help="逐行读取标准输入的文本，逐行输出 JSON")
        predict.add_argument("--model", help="模型文件；缺省为平台当前启用的模型")
        predict.add_argument("--batch", type=int, default=0, help="每批行数（缺省：终端输入时 1，否则 500）")
        predict.add_argument("--threshold", type=float, default=None, help="预选阈值（缺省取 TONGXIN_CLASSIFIER_THRESHOLD）")
        retrain = sub.add_parser("retrain", help="用平台已办结工单重新训练；不比当前模型差才启用")
        retrain.add_argument("--dry-run", action="store_true", help="只训练和评估，不保存、不启用")
        retrain.add_argument("--min-orders", type=int, default=None, help="最少训练工单数（缺省取 TONGXIN_CLASSIFIER_MIN_ORDERS）")
        retrain.add_argument("--out-dir", default=None, help="模型目录（缺省取 TONGXIN_CLASSIFIER_DIR）")
        sub.add_parser("status", help="列出已训练的模型")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    # --- train -----------------------------------------------------------------------------------

    def _train(self, options: dict[str, Any]) -> None:
        from tongxin.insight.training import format_confusion, train_contest_model

        data = Path(options["data"])
        if not data.is_dir():
            raise CommandError(_("数据目录不存在：%(path)s") % {"path": data})
        if not 0 <= options["holdout"] < 1:
            raise CommandError(_("--holdout 必须在 0 到 1 之间"))
        out = Path(options["out"])
        try:
            model, report = train_contest_model(data, holdout=options["holdout"], seed=options["seed"],
                                                refit=not options["no_refit"], log=self.stderr.write)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from None
        model.header["created_at"] = _now_iso()
        model.save(out)
        report_path = out.with_name(out.stem + ".report.json")
        report_path.write_text(json.dumps(model.header, ensure_ascii=False, indent=1), encoding="utf-8")
        metrics = report.get("metrics")
        if metrics:
            for name, label in (("subject", "仅主题"), ("subject_body", "主题+正文")):
                m = metrics[name]
                self.stdout.write(f"{label}：准确率 {m['accuracy']:.4f}，macro-F1 {m['macro_f1']:.4f}，"
                                  f"top-3 准确率 {m['top3_accuracy']:.4f}（留出 {m['n']} 条）")
            self.stdout.write(format_confusion(metrics["subject_body"]))
        self.stdout.write(f"模型已写入 {out}（{out.stat().st_size / 1e6:.1f} MB），评估报告 {report_path}")

    # --- predict ---------------------------------------------------------------------------------

    def _predict(self, options: dict[str, Any]) -> None:
        from tongxin.insight import config
        from tongxin.insight.classifier import ModelFileError, load_cached
        from tongxin.insight.selectors import classifier_active

        try:
            if options.get("model"):
                model = load_cached(options["model"])
            else:
                active = classifier_active()
                if active is None:
                    raise CommandError(_("没有启用中的模型：请用 --model 指定模型文件"))
                model = active.model
        except ModelFileError as exc:
            raise CommandError(exc.message) from None
        threshold = config.preselect_threshold() if options["threshold"] is None else options["threshold"]
        stdin = sys.stdin
        batch_size = options["batch"] or (1 if stdin.isatty() else 500)
        batch: list[str] = []
        for line in stdin:
            batch.append(line.rstrip("\r\n"))
            if len(batch) >= batch_size:
                self._emit(model, batch, threshold)
                batch = []
        if batch:
            self._emit(model, batch, threshold)

    def _emit(self, model: Any, lines: list[str], threshold: float) -> None:
        messages: list[Any] = []
        for line in lines:
            subject, tab, body = line.partition("\t")
            messages.append((subject, body) if tab else line)
        nonempty = [n for n, line in enumerate(lines) if line.strip()]
        predictions = dict(zip(nonempty, model.predict([messages[n] for n in nonempty], k=3), strict=True))
        out = []
        for n in range(len(lines)):
            top = predictions.get(n, [])
            preselect = top[0].label if top and top[0].confidence >= threshold else None
            out.append(json.dumps({"top": [{"category": p.label, "confidence": p.confidence} for p in top],
                                   "preselect": preselect}, ensure_ascii=False))
        self.stdout.write("\n".join(out))
        self.stdout.flush()

    # --- retrain and status ------------------------------------------------------------------------

    def _retrain(self, options: dict[str, Any]) -> None:
        from tongxin.insight.services import classifier_retrain

        report = classifier_retrain(dry_run=options["dry_run"], min_orders=options["min_orders"],
                                    out_dir=options["out_dir"], log=self.stderr.write)
        self.stdout.write(report.message)
        for name, metrics in (("新模型", report.candidate), ("当前模型", report.current or {})):
            for head, m in metrics.items():
                if isinstance(m, dict) and "macro_f1" in m:
                    self.stdout.write(f"{name} {head}：准确率 {m['accuracy']:.4f}，macro-F1 {m['macro_f1']:.4f}，"
                                      f"top-3 {m['top3_accuracy']:.4f}（留出 {m['n']} 条）")
        if report.path:
            self.stdout.write(f"模型文件 {report.path}；评估报告 {report.report_path}")
        if report.status == "insufficient_data":
            raise CommandError(report.message)

    def _status(self, options: dict[str, Any]) -> None:
        from django.utils import timezone

        from tongxin.insight import config
        from tongxin.insight.selectors import classifier_model_list

        rows = classifier_model_list()
        if not rows:
            fallback = config.fallback_model_path()
            self.stdout.write("尚无平台训练的模型" + (f"；使用 TONGXIN_CLASSIFIER_MODEL={fallback}" if fallback else ""))
        for row in rows:
            f1 = f"{row.macro_f1:.4f}" if row.macro_f1 is not None else "—"
            self.stdout.write(f"#{row.pk} {timezone.localtime(row.created_at):%Y-%m-%d %H:%M} {row.get_status_display()} macro-F1 {f1} "
                              f"训练 {row.training_orders} 张 留出 {row.held_out_orders} 条 {row.path}")


def _now_iso() -> str:
    from django.utils import timezone

    return timezone.now().isoformat()
