"""Shared machinery of the benchmarks: throw-away databases, a gunicorn under control, load generators
(wrk when installed, else a Python client), CPU accounting and the machine's description.

Everything here cleans up after itself: a database created by :class:`ThrowawayPostgres` is dropped
and a server started by :class:`Gunicorn` is stopped when the ``with`` block ends, also on Ctrl-C or
SIGTERM (both are turned into an exception so that the ``finally`` blocks run). Only loopback traffic.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent
GUNICORN = VENV_BIN / "gunicorn"
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- signals: make Ctrl-C and SIGTERM run the cleanup ------------------------------------------

class Interrupted(BaseException):
    """Raised on SIGTERM/SIGHUP so that ``finally`` blocks drop databases and stop servers."""


def install_signal_handlers() -> None:
    def handler(signum: int, _frame: Any) -> None:
        raise Interrupted(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


# --- PostgreSQL -------------------------------------------------------------------------------

def pg_base_url() -> str:
    """The server to use, without a database name: BENCH_PG_URL, else DATABASE_URL's server, else the
    local server (postgres@127.0.0.1:5432)."""
    url = os.environ.get("BENCH_PG_URL") or os.environ.get("DATABASE_URL") or ""
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    base, _, _name = url.rpartition("/")
    return base


def _pg_admin(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(pg_base_url() + "/postgres", autocommit=True, connect_timeout=10) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def pg_database_exists(name: str) -> bool:
    return bool(_pg_admin("SELECT 1 FROM pg_database WHERE datname = %s", (name,)))


def pg_create_database(name: str) -> None:
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"unsafe database name {name!r}")
    _pg_admin(f'CREATE DATABASE "{name}"')


def pg_drop_database(name: str) -> None:
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"unsafe database name {name!r}")
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_version() -> str:
    rows = _pg_admin("SHOW server_version")
    return str(rows[0][0]) if rows else "?"


def pg_backend_pids(name: str) -> list[int]:
    rows = _pg_admin("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))
    return [int(r[0]) for r in rows]


@contextmanager
def throwaway_postgres(name: str, *, keep: bool = False, reuse: bool = False) -> Iterator[str]:
    """Yield the URL of a fresh database ``name``; drop it at the end unless ``keep``. With ``reuse``
    the database must exist and is neither created nor dropped."""
    if reuse:
        if not pg_database_exists(name):
            raise SystemExit(f"--reuse {name}: no such database on {pg_base_url()}")
        yield f"{pg_base_url()}/{name}"
        return
    pg_create_database(name)
    try:
        yield f"{pg_base_url()}/{name}"
    finally:
        if keep:
            print(f"kept database {name} (reuse with --reuse {name}; drop with: psql -c 'DROP DATABASE {name}')")
        else:
            close_django_connections()
            pg_drop_database(name)
            print(f"dropped database {name}")


def close_django_connections() -> None:
    if "django" in sys.modules:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass


# --- Django in this process ---------------------------------------------------------------------

def django_setup(*, database_url: str | None = None, sqlite_path: str | None = None) -> None:
    """Point the settings at the benchmark's database (the settings read the environment once, at
    import) and set Django up. Must run before anything imports tongxin's models."""
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    if sqlite_path:
        os.environ["TONGXIN_SQLITE_PATH"] = sqlite_path
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    # Background jobs would need a consumer; the benchmarks never enqueue, but be safe.
    os.environ.setdefault("HUEY_IMMEDIATE", "0")
    import django

    django.setup()


def migrate_quietly() -> float:
    from django.core.management import call_command

    began = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    return time.perf_counter() - began


# --- gunicorn -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes (all their threads), from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLK_TCK


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    total = sum(parts[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


@dataclass
class Gunicorn:
    """A gunicorn serving ``app`` on a free loopback port; stopped (TERM, then KILL) on exit."""

    app: str
    env: dict[str, str]
    workers: int = 2
    worker_class: str = "sync"
    threads: int = 1
    extra_args: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    ready_timeout: float = 60.0  # seconds for every worker to boot (a saturated machine needs more)

    def label(self) -> str:
        if self.worker_class == "gthread":
            return f"gthread {self.workers}w×{self.threads}t"
        return f"{self.worker_class} {self.workers}w"

    def __enter__(self) -> Gunicorn:
        self.port = self.port or free_port()
        fd, log = tempfile.mkstemp(prefix="tongxin-bench-gunicorn-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log)
        args = [
            str(GUNICORN), self.app, "--bind", f"{HOST}:{self.port}", "--workers", str(self.workers),
            "--worker-class", self.worker_class, "--threads", str(self.threads), "--backlog", "2048",
            "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning", "--chdir", str(ROOT),
            "--pythonpath", str(BENCH_DIR), *self.extra_args,
        ]
        env = {**os.environ, **self.env}
        with open(self.log_path, "wb") as log_file:
            self.proc = subprocess.Popen(args, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            self._wait_ready(timeout=self.ready_timeout)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                conn.close()
                # Every worker must have booted (imported the app) before we measure.
                if len(self.worker_pids()) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        return children_of(self.proc.pid) if self.proc else []

    def all_pids(self) -> list[int]:
        return ([self.proc.pid] if self.proc else []) + self.worker_pids()

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)


# --- isolation on a shared machine -----------------------------------------------------------------
#
# Linux groups processes by session ("autogroup") and shares the CPUs fairly between groups, whatever
# their nice values. While other people's test suites run, a benchmark's processes get one share like
# any other session, and PostgreSQL's backends (everyone's) another. ``isolated()`` gives the
# benchmark's own session a higher weight (autogroup nice -10, restored afterwards) and runs a
# throw-away PostgreSQL cluster *inside* that session, so that the server, its database and the load
# generator together get most of the machine. It changes nothing outside the benchmark's processes.

def _postgres_bindir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    return candidates[-1].parent if candidates else None


@contextmanager
def private_postgres() -> Iterator[str]:
    """A fresh PostgreSQL cluster (initdb in a temporary folder, default settings, a free loopback port),
    started as a child of this process and deleted at the end. Sets BENCH_PG_URL while it runs."""
    bindir = _postgres_bindir()
    if bindir is None:
        raise SystemExit("--isolate needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    datadir = Path(tempfile.mkdtemp(prefix="tongxin-bench-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root; runuser keeps us in the same session
        shutil.chown(datadir, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    proc: subprocess.Popen[bytes] | None = None
    previous = os.environ.get("BENCH_PG_URL")
    try:
        subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust",
                        "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True, timeout=120)
        proc = subprocess.Popen(
            [*as_postgres, str(bindir / "postgres"), "-D", str(datadir), "-p", str(port), "-k", str(datadir),
             "-c", "listen_addresses=127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        url = f"postgres://postgres@127.0.0.1:{port}"
        os.environ["BENCH_PG_URL"] = url + "/postgres"
        deadline = time.monotonic() + 60
        while True:
            try:
                pg_version()
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the private PostgreSQL did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        if previous is None:
            os.environ.pop("BENCH_PG_URL", None)
        else:
            os.environ["BENCH_PG_URL"] = previous
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(datadir, ignore_errors=True)


@contextmanager
def session_priority(nice: int = -10) -> Iterator[bool]:
    """Raise this session's autogroup weight for the duration (root only); yields whether it worked."""
    path = Path("/proc/self/autogroup")
    try:
        before = int(path.read_text().split()[-1])
        path.write_text(str(nice))
    except (OSError, ValueError, IndexError):
        yield False
        return
    try:
        yield True
    finally:
        with suppress(OSError):
            path.write_text(str(before))


@contextmanager
def isolated(enabled: bool, *, private_pg: bool = True) -> Iterator[str]:
    """Raise the session's priority and (with ``private_pg``) run a private PostgreSQL cluster. Yields
    a description of the set-up, for the report."""
    if not enabled:
        yield "shared PostgreSQL server, normal priority"
        return
    with session_priority() as raised:
        weight = "; session CPU weight raised (autogroup nice -10)" if raised else ""
        if not private_pg:
            yield "shared PostgreSQL server (its backends at normal priority)" + weight
            return
        with private_postgres():
            yield "private PostgreSQL cluster (default settings) inside the benchmark's session" + weight


# --- load generation ----------------------------------------------------------------------------

@dataclass
class LoadResult:
    tool: str
    duration: float  # seconds of measurement
    statuses: Counter[int]
    errors: int  # socket errors and timeouts (no HTTP status)
    latencies_ms: dict[str, float]  # p50, p95, p99, max
    in_flight: int = 0  # requests sent but unanswered when the tool stopped (wrk only)
    client_cpu: float = 0.0

    @property
    def completed(self) -> int:
        return sum(self.statuses.values())

    @property
    def rate(self) -> float:
        return self.completed / self.duration if self.duration else 0.0

    def status_text(self) -> str:
        return ", ".join(f"{code}: {n:,}" for code, n in sorted(self.statuses.items())) or "none"


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1]}


def have_wrk() -> bool:
    return shutil.which("wrk") is not None and not os.environ.get("BENCH_NO_WRK")


WRK_REPORT = r"""
-- Added by benchlib: count statuses and requests in flight per thread, report them as one JSON line.
local threads = {}
local sent, statuses = 0, {}
-- Each thread gets an ``id`` global (1, 2, ...) that the script's init() may use to seed its random numbers.
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end
local user_request = request
request = function()
  sent = sent + 1
  return user_request()
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total_sent, counts = 0, {}
  for _, t in ipairs(threads) do
    total_sent = total_sent + (t:get("sent") or 0)
    local s = t:get("statuses")
    for code, n in pairs(s or {}) do counts[code] = (counts[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%d": %d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us": %d, "requests": %d, "sent": %d, "statuses": {%s}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, ' ..
    '"p50": %d, "p95": %d, "p99": %d, "max": %d}\n',
    summary.duration, summary.requests, total_sent, table.concat(parts, ", "),
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""

# A thread's globals are read by t:get() in done(); keep them as globals, not locals.
WRK_REPORT = WRK_REPORT.replace("local sent, statuses = 0, {}", "sent, statuses = 0, {}")


def run_wrk(*, port: int, lua: str, duration: float, connections: int, threads: int, path: str = "/") -> LoadResult:
    """Run wrk with ``lua`` (which must define ``request()``) plus the reporting hooks above."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="tongxin-bench-", delete=False) as f:
        f.write(lua + "\n" + WRK_REPORT)
        script = f.name
    try:
        before = os.times()
        proc = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:.0f}s", "--timeout", "10s",
             "--latency", "-s", script, f"http://{HOST}:{port}{path}"],
            capture_output=True, text=True, timeout=duration + 60, check=False,
        )
        after = os.times()
    finally:
        os.unlink(script)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    statuses = Counter({int(k): int(v) for k, v in data["statuses"].items()})
    errors = sum(data["errors"][k] for k in ("connect", "read", "write", "timeout"))
    return LoadResult(
        tool=f"wrk -t{threads} -c{connections}", duration=data["duration_us"] / 1e6, statuses=statuses,
        errors=errors, latencies_ms={k: data[k] / 1000 for k in ("p50", "p95", "p99", "max")},
        in_flight=int(data["sent"]) - sum(statuses.values()),
        client_cpu=(after.children_user + after.children_system) - (before.children_user + before.children_system),
    )


# The Python client: processes × threads, each thread one keep-alive http.client connection. It stops
# sending at the deadline and waits for every answer, so its counts are exact.

RequestFactory = Callable[[Any], tuple[str, str, bytes | None, dict[str, str]]]


def _client_process(port: int, module: str, factory_name: str, threads: int, seed: int, proc_index: int,
                    factory_arg: Any, ready: Any, start: Any, deadline_box: Any, results: Any) -> None:
    import importlib
    import random

    factory: RequestFactory = getattr(importlib.import_module(module), factory_name)
    factory((random.Random(0), factory_arg))  # load whatever the factory caches before the clock starts
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker(thread_index: int) -> None:
        rng = random.Random(seed * 1000 + proc_index * 100 + thread_index)
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        local_statuses: Counter[int] = Counter()
        local_lat: list[float] = []
        local_errors = 0
        start.wait()
        deadline = deadline_box.value
        while time.time() < deadline:
            method, path, body, headers = factory((rng, factory_arg))
            began = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                local_errors += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                continue
            local_lat.append((time.perf_counter() - began) * 1000)
            local_statuses[resp.status] += 1
        conn.close()
        with lock:
            statuses.update(local_statuses)
            latencies.extend(local_lat)
            errors[0] += local_errors

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    ready.put(proc_index)
    for t in pool:
        t.join()
    results.put((dict(statuses), errors[0], latencies))


def run_python_client(*, port: int, module: str, factory: str, factory_arg: Any, duration: float,
                      processes: int, threads: int, seed: int = 1) -> LoadResult:
    """Drive load with ``module.factory((rng, factory_arg)) -> (method, path, body, headers)``. The
    clock starts once every process has started (a spawned Python takes a second or two to import)."""
    ctx = multiprocessing.get_context("spawn")  # no inherited Django state or database connections
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    deadline_box = ctx.Value("d", 0.0)
    before = os.times()
    procs = [ctx.Process(target=_client_process, args=(port, module, factory, threads, seed, i, factory_arg, ready,
                                                        start, deadline_box, results), daemon=True)
             for i in range(processes)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=120)
        began = time.time()
        deadline_box.value = began + duration
        start.set()
        parts = [results.get(timeout=duration + 120) for _ in procs]
        elapsed = time.time() - began
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    after = os.times()
    statuses: Counter[int] = Counter()
    errors = 0
    latencies: list[float] = []
    for s, e, lat in parts:
        statuses.update(s)
        errors += e
        latencies.extend(lat)
    return LoadResult(
        tool=f"python http.client {processes}p×{threads}t", duration=elapsed, statuses=statuses, errors=errors,
        latencies_ms=percentiles(latencies),
        client_cpu=(after.children_user + after.children_system) - (before.children_user + before.children_system),
    )


# --- the machine --------------------------------------------------------------------------------

def machine_info() -> dict[str, str]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": str(os.cpu_count()), "ram": f"{mem_kb / 1024 / 1024:.1f} GiB", "os": os_name,
        "kernel": platform.release(), "python": platform.python_version(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def print_machine(extra: dict[str, str] | None = None) -> None:
    info = {**machine_info(), **(extra or {})}
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- a shared machine: wait for quiet, and say how busy it was ------------------------------------

def busy_fraction(seconds: float = 2.0) -> float:
    """Share of all CPUs busy over the next ``seconds`` (other people's work included)."""
    busy0, total0 = machine_busy()
    time.sleep(seconds)
    busy1, total1 = machine_busy()
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


def wait_for_quiet(max_wait: float, threshold: float = 0.15) -> float:
    """Wait (at most ``max_wait`` seconds) until the machine is idle enough to measure: less than
    ``threshold`` of its CPUs busy over 3 s. Returns the last busy share seen."""
    deadline = time.monotonic() + max_wait
    busy = busy_fraction(3.0)
    announced = False
    while busy >= threshold and time.monotonic() < deadline:
        if not announced:
            print(f"machine {busy:.0%} busy with other work; waiting up to {max_wait:.0f} s for it to calm down …",
                  flush=True)
            announced = True
        time.sleep(5)
        busy = busy_fraction(3.0)
    return busy
