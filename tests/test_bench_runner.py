"""bench/run_all.py and ``tongxin bench`` on a fake bench directory: discovery, the quick arguments, the
table, the exit status, the time bound. The real benchmarks never run here."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN_ALL = ROOT / "bench" / "run_all.py"


def _load_run_all():
    spec = importlib.util.spec_from_file_location("run_all_under_test", RUN_ALL)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


run_all = _load_run_all()

SCRIPT = '''"""{doc}: ``python bench/{name}.py``."""
import sys
{body}
if __name__ == "__main__":
    sys.exit(main())
'''


def _script(folder: Path, name: str, doc: str, body: str) -> None:
    (folder / f"{name}.py").write_text(SCRIPT.format(doc=doc, name=name, body=textwrap.dedent(body)))


@pytest.fixture
def fake_bench(tmp_path: Path) -> Path:
    folder = tmp_path / "bench"
    folder.mkdir()
    _script(folder, "fast", "Fast thing per second", """
        def main():
            print("warming up")
            print("result: 120/s; target >= 100/s: met")
            print("bye")
            return 0
    """)
    _script(folder, "slowish", "Slow thing latency", """
        def main():
            print("p95 80 ms against the target 50 ms: MISSED")
            return 1
    """)
    _script(folder, "nodata", "Needs data", """
        def main():
            print("no data here")
            return 2
    """)
    _script(folder, "withquick", "Has a quick switch", """
        import argparse
        def main():
            p = argparse.ArgumentParser()
            p.add_argument("--quick", action="store_true")
            p.add_argument("--size", default="big")
            a, rest = p.parse_known_args()
            print(f"quick={a.quick} size={a.size} rest={rest}; target: none: met")
            return 0
    """)
    (folder / "helperlib.py").write_text('"""A helper, not a benchmark."""\nX = 1\n')
    (folder / "run_all.py").write_text('"""Not a benchmark."""\nif __name__ == "__main__":\n    pass\n')
    pkg = folder / "scenario"
    pkg.mkdir()
    (pkg / "__main__.py").write_text('"""A folder benchmark."""\nimport sys\nprint("scenario target ok: met")\nsys.exit(0)\n')
    (pkg / "part.py").write_text("X = 1\n")
    return folder


def _run(folder: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUN_ALL), "--bench-dir", str(folder), *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_discovery_finds_scripts_and_folders_not_helpers(fake_bench: Path) -> None:
    found = run_all.discover(fake_bench)
    assert list(found) == ["fast", "nodata", "scenario", "slowish", "withquick"]
    assert found["fast"].summary == "Fast thing per second"
    assert found["scenario"].path == fake_bench / "scenario"


def test_the_real_bench_folder_is_discovered() -> None:
    found = run_all.discover()
    assert {"deadlines", "intake", "overdue_queue", "load", "faults"} <= set(found)
    assert not {"benchlib", "benchwsgi", "run_all"} & set(found)
    # Every real benchmark has an entry in the quick table or offers --quick (checked without running it).
    for name, bench in found.items():
        if name not in run_all.QUICK_ARGS and bench.path.is_file():
            assert "--quick" in bench.path.read_text(), f"{name}: add its short run to QUICK_ARGS"


def test_quick_args_from_the_table_else_from_help(fake_bench: Path) -> None:
    found = run_all.discover(fake_bench)
    assert run_all.quick_args(found["fast"], {"fast": ["-n", "5"]}) == ["-n", "5"]
    assert run_all.quick_args(found["withquick"], {}) == ["--quick"]
    assert run_all.quick_args(found["fast"], {}) == []


def test_table_and_exit_status_of_a_mixed_run(fake_bench: Path) -> None:
    proc = _run(fake_bench)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # one target missed
    summary = proc.stdout.split("=== summary")[1]
    lines = {line.split()[0]: line for line in summary.splitlines()[2:] if line.strip() and not line.startswith("exit")}
    assert "met" in lines["fast"] and "target >= 100/s" in lines["fast"]
    assert "MISSED" in lines["slowish"] and "p95 80 ms" in lines["slowish"]
    assert "not measured" in lines["nodata"]
    assert "met" in lines["scenario"]
    assert "helperlib" not in summary and "run_all" not in summary
    # The scripts' own output is passed through as it comes.
    assert "warming up" in proc.stdout


@pytest.mark.parametrize(("only", "code"), [("fast,scenario", 0), ("fast,nodata", 2), ("nodata,slowish", 1)])
def test_exit_status_of_a_selection(fake_bench: Path, only: str, code: int) -> None:
    proc = _run(fake_bench, "--only", only)
    assert proc.returncode == code, proc.stdout
    ran = [line.split()[0] for line in proc.stdout.split("=== summary")[1].splitlines()[3:]
           if line.startswith("  ")]
    assert ran == only.split(",")


def test_quick_passes_the_quick_arguments_and_extra_arguments(fake_bench: Path) -> None:
    proc = _run(fake_bench, "--quick", "--only", "withquick", "--", "--size", "small")
    assert proc.returncode == 0, proc.stdout
    assert "quick=True size=small" in proc.stdout


def test_unknown_benchmark_is_refused(fake_bench: Path) -> None:
    proc = _run(fake_bench, "--only", "fast,nosuch")
    assert proc.returncode == 2
    assert "unknown benchmark(s): nosuch" in proc.stderr


def test_a_hanging_benchmark_is_stopped_and_counts_as_failed(fake_bench: Path) -> None:
    _script(fake_bench, "hangs", "Never ends", """
        import time
        def main():
            print("started", flush=True)
            time.sleep(120)
            return 0
    """)
    proc = _run(fake_bench, "--only", "hangs,fast", "--timeout", "2", timeout=60)
    assert proc.returncode == 1
    summary = proc.stdout.split("=== summary")[1]
    assert "timed out" in summary and "started" in summary


def test_a_crashing_benchmark_counts_as_failed(fake_bench: Path) -> None:
    _script(fake_bench, "crashes", "Crashes", """
        def main():
            raise RuntimeError("boom")
    """)
    proc = _run(fake_bench, "--only", "crashes")
    assert proc.returncode == 1  # a traceback exits 1, which reads as a missed target: the run fails either way
    assert "RuntimeError: boom" in proc.stdout


def test_tongxin_bench_command_runs_the_runner(fake_bench: Path) -> None:
    cli = [sys.executable, "-c", "from tongxin.cli import main; main()", "bench", "--bench-dir", str(fake_bench)]
    proc = subprocess.run([*cli, "--only", "fast,slowish"], capture_output=True, text=True, timeout=120,
                          check=False, cwd=ROOT)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "=== summary ===" in proc.stdout and "MISSED" in proc.stdout
    proc = subprocess.run([*cli, "--quick", "--only", "withquick"], capture_output=True, text=True, timeout=120,
                          check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "quick=True" in proc.stdout
    proc = subprocess.run([*cli, "--list"], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert proc.returncode == 0
    assert "scenario" in proc.stdout and "=== summary" not in proc.stdout
