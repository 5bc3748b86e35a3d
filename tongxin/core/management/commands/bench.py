"""``tongxin bench [--quick] [--only a,b] [--skip c] [--list] [--timeout S] [-- extra args]``.

Runs every benchmark of the source checkout's bench/ folder through ``bench/run_all.py`` (which
discovers them) and prints one table of verdicts; the exit status is run_all's: 0 every target met,
1 a target missed or a benchmark failed, 2 something not measured. The benchmarks are not part of
the installed package: outside a source checkout the command says so and exits 2.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


def bench_dir() -> Path:
    return Path(settings.BASE_DIR) / "bench"


class Command(BaseCommand):
    help = "运行 bench/ 中的全部性能基准并汇总为一张表（--quick：小规模快速运行，结果仅供参考）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quick", action="store_true", help="小规模快速运行（五分钟以内，可用 SQLite）")
        parser.add_argument("--only", default="", help="只运行这些基准（逗号分隔的名称）")
        parser.add_argument("--skip", default="", help="跳过这些基准（逗号分隔的名称）")
        parser.add_argument("--list", action="store_true", help="只列出将运行的基准及其参数")
        parser.add_argument("--timeout", type=float, default=None, help="每个基准最长运行秒数")
        parser.add_argument("--bench-dir", default="", help="基准目录（默认：源码目录下的 bench/）")
        parser.add_argument("extra", nargs="*", help="写在 -- 之后：传给每个选中基准的参数")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["bench_dir"]) if options["bench_dir"] else bench_dir()
        runner = bench_dir() / "run_all.py"
        if not runner.exists():
            self.stderr.write("找不到 bench/run_all.py：基准只随源码目录提供，不在安装包中。")
            raise SystemExit(2)
        argv = [sys.executable, str(runner), "--bench-dir", str(folder)]
        if options["quick"]:
            argv.append("--quick")
        if options["list"]:
            argv.append("--list")
        for name in ("only", "skip"):
            if options[name]:
                argv += [f"--{name}", options[name]]
        if options["timeout"] is not None:
            if options["timeout"] <= 0:
                raise CommandError("--timeout 必须大于 0")
            argv += ["--timeout", str(options["timeout"])]
        if options["extra"]:
            argv += ["--", *options["extra"]]
        self.stdout.flush()
        code = subprocess.call(argv, cwd=str(folder.parent))  # noqa: S603 - this interpreter, our own script
        if code:
            raise SystemExit(code)
