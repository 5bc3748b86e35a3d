"""The morning-peak stack and its load: a private PostgreSQL cluster with a throw-away database and the
scenario's world, gunicorn, the task worker (``tongxin worker``), and locust driving the users of
locustfile.py headless for a fixed time. Shared by ``python bench/load`` and ``bench/faults.py``."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib
from benchlib import Gunicorn

from load import world
from load.world import PrivateCluster, Seed, TaskWorker

LOCUST = Path(sys.executable).parent / "locust"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


@dataclass
class Stack:
    """Everything the scenario runs against; ``with Stack(...) as s`` builds it and tears it all down."""

    workers: int = 3
    threads: int = 4
    operators: int = 4
    handlers_per_department: int = 4
    households: int = 400
    fast_sla: bool = False
    sms_lease: float | None = None  # seconds: the task worker's SMS outbox claim lease (default: the app's 5 min)
    redis_db: int | None = 13  # None: Huey on a SQLite file
    fast_schema: bool = False  # tables from the models, no migrations (quicker; for the test suite)
    cluster: PrivateCluster | None = None
    database_url: str = ""
    redis_url: str = ""
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tongxin-load-")))
    seed: Seed | None = None
    gunicorn: Gunicorn | None = None
    task_worker: TaskWorker | None = None
    notes: list[str] = field(default_factory=list)
    _exit: ExitStack = field(default_factory=ExitStack)

    @property
    def sms_file(self) -> Path:
        return self.tmp / "sms.txt"

    @property
    def ack_dir(self) -> Path:
        return self.tmp / "acks"

    @property
    def seed_file(self) -> Path:
        return self.tmp / "seed.json"

    def env(self) -> dict[str, str]:
        env = world.server_env(self.database_url, redis_url=self.redis_url, sms_file=self.sms_file,
                               huey_file=self.tmp / "huey.sqlite3")
        if self.sms_lease:
            env["LOAD_SMS_LEASE"] = str(self.sms_lease)
        return env

    def __enter__(self) -> Stack:
        try:
            self._build()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _build(self) -> None:
        began = time.monotonic()
        if self.redis_db is not None:
            ok, what = world.redis_available(self.redis_db)
            if ok:
                self.redis_url = what
                self._exit.callback(world.redis_flush, self.redis_db)
                self.notes.append(f"Huey and the cache on Redis database {self.redis_db}")
            else:
                self.notes.append(f"Huey on a SQLite file ({what})")
        self.cluster = PrivateCluster().create()
        self._exit.callback(self.cluster.destroy)
        self.cluster.start()
        self.database_url = self.cluster.create_database(world.DB_NAME)
        os.environ["SECRET_KEY"] = world.SECRET_KEY
        if self.redis_url:
            os.environ["REDIS_URL"] = self.redis_url
        else:
            os.environ["HUEY_SQLITE_PATH"] = str(self.tmp / "huey.sqlite3")
        benchlib.django_setup(database_url=self.database_url)
        self._exit.callback(benchlib.close_django_connections)
        t_migrate = time.monotonic()
        failed = world.migrate(fast=self.fast_schema)
        self.notes.append(f"cluster in {t_migrate - began:.0f} s, migrations in {time.monotonic() - t_migrate:.0f} s")
        if failed:
            self.notes.append("NOT migrated (failed; the scenario does not use them): " + ", ".join(failed))
        # The scenario's users sign in with API tokens, never with a password: hash the passwords the
        # world sets cheaply (PBKDF2 costs about a second per user on a busy 2-core machine).
        from django.conf import settings

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        t_seed = time.monotonic()
        self.seed = world.seed(operators=self.operators, handlers_per_department=self.handlers_per_department,
                               households=self.households, fast_sla=self.fast_sla)
        self.seed.dump(self.seed_file)
        t_servers = time.monotonic()
        self.notes.append(f"world seeded in {t_servers - t_seed:.0f} s")
        self.ack_dir.mkdir(parents=True, exist_ok=True)
        benchlib.close_django_connections()
        self.task_worker = TaskWorker(env=self.env(), log_path=self.tmp / "worker.log")
        self.task_worker.start()
        self._exit.callback(self.task_worker.stop)
        self.gunicorn = Gunicorn(app="tongxin.wsgi:application", env=self.env(), workers=self.workers,
                                 worker_class="gthread", threads=self.threads, ready_timeout=180)
        self._exit.enter_context(self.gunicorn)
        self.notes.append(f"servers up in {time.monotonic() - t_servers:.0f} s; built in {time.monotonic() - began:.0f} s: PostgreSQL {world.pg_version(self.cluster.url)} "
                          f"(private cluster), gunicorn {self.gunicorn.label()}, {self.households} households")

    def __exit__(self, *exc: object) -> None:
        self._exit.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_locust(stack: Stack, *, users: int, spawn_rate: float, duration: float, csv_prefix: Path,
                 critical_share: float = 0.05, points: bool = False) -> subprocess.Popen[bytes]:
    assert stack.gunicorn is not None
    env = {**os.environ, "LOAD_SEED": str(stack.seed_file), "LOAD_SMS_FILE": str(stack.sms_file),
           "LOAD_ACK_DIR": str(stack.ack_dir), "LOAD_CRITICAL_SHARE": str(critical_share), "LOAD_CSRF": world.CSRF,
           "LOAD_POINTS": "1" if points else "",
           "PYTHONPATH": os.pathsep.join([str(world.BENCH_DIR), str(world.ROOT)])}
    args = [str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(spawn_rate),
            "-t", f"{int(duration)}s", "--stop-timeout", "15", "--csv", str(csv_prefix), "--only-summary",
            "--host", f"http://127.0.0.1:{stack.gunicorn.port}", "--loglevel", "WARNING"]
    log = open(stack.tmp / "locust.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=world.ROOT)


def wait_locust(proc: subprocess.Popen[bytes], duration: float) -> int:
    try:
        return proc.wait(timeout=duration + 90)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


@dataclass
class Row:
    name: str
    requests: int
    failures: int
    rate: float
    p50: float
    p95: float
    p99: float
    max: float


def read_stats(csv_prefix: Path) -> list[Row]:
    path = Path(f"{csv_prefix}_stats.csv")
    if not path.exists():
        return []
    rows = []
    with path.open(newline="") as f:
        for rec in csv.DictReader(f):
            def num(key: str, rec: dict[str, Any] = rec) -> float:
                value = rec.get(key) or "0"
                return float(value) if value not in ("N/A", "") else float("nan")

            rows.append(Row(name=rec["Name"], requests=int(num("Request Count")), failures=int(num("Failure Count")),
                            rate=num("Requests/s"), p50=num("50%"), p95=num("95%"), p99=num("99%"),
                            max=num("Max Response Time")))
    return rows


def read_failures(csv_prefix: Path) -> list[str]:
    path = Path(f"{csv_prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [f"{r['Name']}: {r['Error']} ×{r['Occurrences']}" for r in csv.DictReader(f)]


def read_exceptions(csv_prefix: Path) -> list[str]:
    """Exceptions raised inside the users' tasks (a bug of the scenario, not of the server)."""
    path = Path(f"{csv_prefix}_exceptions.csv")
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [f"{r['Message']} ×{r['Count']}: {r['Traceback'].strip().splitlines()[-1] if r['Traceback'] else ''}"
                for r in csv.DictReader(f)]


def huey_counts() -> tuple[int, int]:
    """(tasks queued, tasks scheduled for later — retries) in the scenario's Huey."""
    from huey.contrib.djhuey import HUEY

    try:
        return HUEY.pending_count(), HUEY.scheduled_count()
    except Exception:
        return -1, -1


def drain_tasks(timeout: float) -> tuple[int, int]:
    """Wait (at most ``timeout`` s) until the task worker has taken every queued task, then a little
    for the last one to finish; returns what is still queued and scheduled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending, _ = huey_counts()
        if pending == 0:
            break
        time.sleep(0.5)
    time.sleep(2.0)
    return huey_counts()


def enqueue_sms_sweep() -> None:
    """The SMS outbox's sweep, queued now (the task worker's scheduler also queues it every minute)."""
    from tongxin.accounts.tasks import notification_sms_sweep_task

    with suppress(Exception):
        notification_sms_sweep_task()


def caught_up(left: dict[str, int]) -> bool:
    return not (left["sms_due"] or left["receipts"] or left["queued"])


def catch_up(timeout: float, report: Callable[[str], None] = print) -> dict[str, int]:
    """Wait (at most ``timeout`` s) until the workers have caught up: no task queued, no SMS still due in
    the outbox (the minute sweep sends what a lost task left; a killed sender's claim is taken over after
    the lease), no report receipt still waiting for its order. Reports each change of what is left and
    returns it (``sms_due``, ``sms_claimed``, ``receipts``, ``queued``, ``retries``)."""
    deadline = time.monotonic() + timeout
    last: dict[str, int] | None = None
    next_sweep = 0.0
    while True:
        left = world.outbox_backlog()
        pending, scheduled = huey_counts()
        left.update(queued=max(0, pending), retries=max(0, scheduled))
        benchlib.close_django_connections()
        if left != last:
            report("catching up: " + ", ".join(f"{k} {v}" for k, v in left.items()))
            last = left
        if caught_up(left):
            return left
        if time.monotonic() > deadline:
            report(f"not caught up after {timeout:.0f} s")
            return left
        if time.monotonic() > next_sweep:
            enqueue_sms_sweep()
            next_sweep = time.monotonic() + 20
        time.sleep(3)


def stats_table(rows: list[Row]) -> str:
    out = [f"  {'request':<32} {'count':>7} {'fail':>5} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"]
    for r in rows:
        out.append(f"  {r.name:<32} {r.requests:>7,} {r.failures:>5,} {r.rate:>7.1f} {r.p50:>7.0f} {r.p95:>7.0f} "
                   f"{r.p99:>7.0f} {r.max:>7.0f}")
    return "\n".join(out)
