"""Run every benchmark in turn and summarise the verdicts: ``.venv/bin/python bench/run_all.py``.

    .venv/bin/python bench/run_all.py                 # all three, full size (about 25 minutes)
    .venv/bin/python bench/run_all.py --quick         # short runs, 100,000 orders for the queue (about 4 minutes)
    .venv/bin/python bench/run_all.py --only intake,deadlines
    .venv/bin/python bench/run_all.py -- --reuse tongxin_bench_overdue_1234   # extra arguments go to overdue_queue

Each script is also runnable on its own (see bench/README.md); each prints its figures and its target
and exits 0 when the target is met, 1 when it is missed, 2 when there was nothing to measure.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BENCHMARKS = {
    "deadlines": ("deadline computations per second (add_working_time, one core)", "≥ 100,000/s"),
    "intake": ("work orders created per second through POST /api/v1/work-orders (PostgreSQL, gunicorn)", "≥ 500/s"),
    "overdue_queue": ("a department's overdue queue, first page, 1,000,000 orders (PostgreSQL)", "≤ 50 ms"),
}
VERDICT = {0: "met", 1: "MISSED", 2: "not measured"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="short runs (figures are indicative only)")
    parser.add_argument("overdue_args", nargs="*", help="after --: extra arguments for overdue_queue.py")
    args = parser.parse_args()
    chosen = [name for name in args.only.split(",") if name]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    extra = {
        "deadlines": ["-n", "50000", "--repeat", "3"] if args.quick else [],
        "intake": ["--quick"] if args.quick else [],
        "overdue_queue": (["--orders", "100000"] if args.quick and not args.overdue_args else []) + args.overdue_args,
    }
    results = []
    for name in chosen:
        print(f"\n=== {name}: {BENCHMARKS[name][0]} ===", flush=True)
        began = time.monotonic()
        # Bounded: no benchmark may hang the run. SIGTERM first, so the script drops its database and
        # stops its servers; SIGKILL only if it does not finish within 30 s.
        proc = subprocess.Popen([sys.executable, str(BENCH / f"{name}.py"), *extra[name]])
        try:
            code = proc.wait(timeout=3600)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            code = 2
        results.append((name, code, time.monotonic() - began))
    print("\n=== summary ===")
    for name, code, took in results:
        print(f"  {name:<14} target {BENCHMARKS[name][1]:<12} {VERDICT.get(code, f'failed ({code})'):<13} ({took:.0f} s)")
    return max((code for _, code, _ in results), default=0)


if __name__ == "__main__":
    sys.exit(main())
