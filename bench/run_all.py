"""Run every benchmark in bench/ in turn and print one table of verdicts: ``.venv/bin/python bench/run_all.py``.

    .venv/bin/python bench/run_all.py                      # every benchmark, full size (an hour or more)
    .venv/bin/python bench/run_all.py --quick              # small sizes, indicative only (under five minutes)
    .venv/bin/python bench/run_all.py --only intake,deadlines
    .venv/bin/python bench/run_all.py --list               # what would run, with the arguments
    .venv/bin/python bench/run_all.py --only overdue_queue -- --reuse tongxin_bench_overdue_1234
    tongxin bench [--quick] [--only a,b]                   # the same, from the tongxin command

The benchmarks are discovered, not listed: every ``bench/*.py`` that runs as a script (it has an
``if __name__ == "__main__"`` block; helpers such as benchlib.py have none) and every folder of bench/
with a ``__main__.py`` (``bench/load/``), named by the file or the folder. Each prints its figures and
its target and exits 0 when the target is met, 1 when it is missed, 2 when there was nothing to
measure. ``QUICK_ARGS`` below holds each script's short run; a script not in it runs with ``--quick``
if its ``--help`` offers one, else as it is.

Arguments after ``--`` go to every chosen benchmark (use with ``--only``). Exit status: 1 when a
target was missed or a benchmark failed or timed out, else 2 when something was not measured, else 0.
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# Scripts in bench/ that are not benchmarks with a target: the runner itself; classify_variants, an
# exploration of alternative classifiers (tens of minutes, a table of figures, no target of its own).
NOT_BENCHMARKS = {"run_all", "classify_variants"}
VERDICT = {0: "met", 1: "MISSED", 2: "not measured"}

# The short run of each benchmark (``--quick``), checked against each script's --help.
QUICK_ARGS: dict[str, list[str]] = {
    "classify": ["--only-folds", "1", "--messages", "2000"],
    "dashboard": ["--sqlite", "--orders", "20000"],
    "deadlines": ["-n", "50000", "--repeat", "3"],
    "duplicates": [],
    "faults": ["--quick"],
    "geo_locate": ["--quick"],
    "hotspots": [],
    "intake": ["--quick"],
    "load": ["--quick"],
    "map_data": ["--n", "10"],
    "overdue_queue": ["--orders", "100000"],
    "pages": ["--repeat", "3"],
    "residents": ["--quick"],
    "suggest": [],
}
# The whole run of a benchmark may not take longer than this (seconds); then SIGTERM, SIGKILL 30 s later.
TIMEOUT = 3600.0
QUICK_TIMEOUT = 900.0


@dataclass
class Benchmark:
    name: str
    path: Path  # the script, or the folder holding __main__.py
    summary: str

    def command(self) -> list[str]:
        return [sys.executable, str(self.path)]


@dataclass
class Outcome:
    bench: Benchmark
    args: list[str]
    code: int | None  # None: timed out
    seconds: float
    figure: str

    @property
    def verdict(self) -> str:
        if self.code is None:
            return "timed out"
        return VERDICT.get(self.code, f"failed ({self.code})")


def _docstring_summary(source: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(source.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError, UnicodeDecodeError):
        return ""
    first = doc.strip().splitlines()[0] if doc.strip() else ""
    return first.split(": ``")[0].split(" ``")[0].rstrip(":. ")


def _runs_as_script(source: Path) -> bool:
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return 'if __name__ == "__main__"' in text or "if __name__ == '__main__'" in text


def discover(bench_dir: Path = BENCH) -> dict[str, Benchmark]:
    """Every benchmark of ``bench_dir``, by name, sorted."""
    found: dict[str, Benchmark] = {}
    for path in sorted(bench_dir.glob("*.py")):
        if path.stem in NOT_BENCHMARKS or path.stem.startswith("_") or not _runs_as_script(path):
            continue
        found[path.stem] = Benchmark(path.stem, path, _docstring_summary(path))
    for main in sorted(bench_dir.glob("*/__main__.py")):
        folder = main.parent
        if folder.name.startswith((".", "_")) or folder.name in found:
            continue
        found[folder.name] = Benchmark(folder.name, folder, _docstring_summary(main))
    return dict(sorted(found.items()))


def quick_args(bench: Benchmark, table: dict[str, list[str]] | None = None) -> list[str]:
    """The benchmark's short run: from the table, else ``--quick`` if its --help offers it, else none."""
    table = QUICK_ARGS if table is None else table
    if bench.name in table:
        return list(table[bench.name])
    try:
        helptext = subprocess.run([*bench.command(), "--help"], capture_output=True, text=True, timeout=60,
                                  check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return ["--quick"] if "--quick" in helptext else []


def _figure_line(lines: list[str]) -> str:
    """The line that states the result: the last one naming the target (or the verdict)."""
    for line in reversed(lines):
        low = line.lower()
        if "target" in low or "目标" in line or " met" in low or "missed" in low:
            return " ".join(line.split())
    return " ".join(lines[-1].split()) if lines else ""


def run_one(bench: Benchmark, args: list[str], timeout: float) -> Outcome:
    """Run one benchmark, echoing its output as it comes; bounded by ``timeout`` (SIGTERM first, so
    that the script drops its databases and stops its servers; SIGKILL 30 s later)."""
    began = time.monotonic()
    lines: list[str] = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*bench.command(), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", env=env, cwd=BENCH.parent)

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    code: int | None
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        code = None
    reader.join(timeout=5)
    return Outcome(bench, args, code, time.monotonic() - began, _figure_line(lines))


def overall_code(outcomes: list[Outcome]) -> int:
    codes = [o.code for o in outcomes]
    if any(c is None or c not in (0, 2) for c in codes):
        return 1
    return 2 if any(c == 2 for c in codes) else 0


def table(outcomes: list[Outcome], width: int = 150) -> str:
    rows = [("benchmark", "verdict", "took", "result (the script's own line)")]
    for o in outcomes:
        rows.append((o.bench.name, o.verdict, f"{o.seconds:.0f} s", o.figure))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    out = []
    for i, (a, b, c, d) in enumerate(rows):
        room = max(20, width - w0 - w1 - w2 - 9)
        d = d if len(d) <= room else d[: room - 1] + "…"
        out.append(f"  {a:<{w0}}  {b:<{w1}}  {c:>{w2}}  {d}")
        if i == 0:
            out.append(f"  {'-' * w0}  {'-' * w1}  {'-' * w2}  {'-' * min(room, 40)}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated benchmark names to leave out")
    parser.add_argument("--quick", action="store_true", help="short runs (figures are indicative only)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and their arguments, run nothing")
    parser.add_argument("--timeout", type=float, default=None,
                        help=f"seconds per benchmark (default {TIMEOUT:.0f}, {QUICK_TIMEOUT:.0f} with --quick)")
    parser.add_argument("--bench-dir", default=str(BENCH), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    found = discover(Path(args.bench_dir))
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(found)
    skipped = {n.strip() for n in args.skip.split(",") if n.strip()}
    unknown = [n for n in [*chosen, *skipped] if n not in found]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(found)}")
    chosen = [n for n in chosen if n not in skipped]
    timeout = args.timeout if args.timeout is not None else (QUICK_TIMEOUT if args.quick else TIMEOUT)
    plan = [(found[n], (quick_args(found[n]) if args.quick else []) + extra) for n in chosen]
    if args.list:
        for bench, bench_args in plan:
            print(f"  {bench.name:<16} {' '.join(bench_args) or '(no arguments)':<34} {bench.summary}")
        return 0
    outcomes = []
    for bench, bench_args in plan:
        print(f"\n=== {bench.name}: {bench.summary} {' '.join(bench_args)} ===", flush=True)
        outcomes.append(run_one(bench, bench_args, timeout))
    print(f"\n=== summary{' (--quick: indicative only)' if args.quick else ''} ===")
    print(table(outcomes))
    code = overall_code(outcomes)
    print(f"\nexit {code}: {'every target met' if code == 0 else 'something was not measured' if code == 2 else 'a target was missed or a benchmark failed'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
