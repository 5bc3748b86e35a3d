"""The machinery of the morning-peak scenario and of the fault script: a private PostgreSQL cluster that
may be restarted, its throw-away database and world, the application servers and the task worker, and
the check of what is in the database afterwards.

Nothing here touches the shared PostgreSQL server: the cluster is ``initdb``'d in a temporary folder,
runs on its own loopback port (as the ``postgres`` user when we are root) and is removed at the end.
Redis, when used, is one database number of the local Redis (``--redis-db``) that must be empty at the
start; it is emptied at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOAD_DIR = Path(__file__).resolve().parent
BENCH_DIR = LOAD_DIR.parent
ROOT = BENCH_DIR.parent
for p in (str(BENCH_DIR), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import benchlib  # noqa: E402

PG_BIN_CANDIDATES = [Path("/usr/lib/postgresql/15/bin"), *sorted(Path("/usr/lib/postgresql").glob("*/bin"))]
SECRET_KEY = "bench-load-" + "s" * 60
CSRF = "loadcsrftoken0123456789abcdefghi"  # a 32-character CSRF secret, sent as cookie and header
PASSWORD_HASHERS_FAST = "1"
DB_NAME = "tongxin_load"

# The load comes from one address (127.0.0.1): the per-address limits of the residents' pages would
# stop it after a few dozen logins, so the scenario's servers raise them (the per-phone code limit too,
# since a resident may sign in again). Every other setting is the production default.
RATE_ENV = {
    "TONGXIN_RESIDENT_RATE_CODE_PHONE": "100/60",
    "TONGXIN_RESIDENT_RATE_CODE_PHONE_DAY": "10000/86400",
    "TONGXIN_RESIDENT_RATE_CODE_IP": "1000000/3600",
    "TONGXIN_RESIDENT_RATE_LOGIN_IP": "1000000/600",
    "TONGXIN_RESIDENT_RATE_REPORT_RESIDENT": "100000/3600",
    # The per-address budgets of the public doors (tongxin.core.ratelimit): still checked, never spent.
    "TONGXIN_RATE_LIMIT_RESIDENT_CODE": "1000000/3600",
    "TONGXIN_RATE_LIMIT_RESIDENT_LOGIN": "1000000/600",
    "TONGXIN_RATE_LIMIT_RESIDENT_PAGE": "1000000/600",
    "TONGXIN_RATE_LIMIT_RESIDENT_REPORT": "1000000/3600",
}


def pg_bindir() -> Path | None:
    for candidate in PG_BIN_CANDIDATES:
        if all((candidate / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return candidate
    return None


# --- the private cluster --------------------------------------------------------------------------

@dataclass
class PrivateCluster:
    """``initdb`` in a temporary folder, ``pg_ctl`` to start, stop (also ``immediate``: a crash, with WAL
    recovery at the next start) and restart; removed by :meth:`destroy`."""

    port: int = 0
    datadir: Path | None = None
    bindir: Path | None = None
    as_postgres: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def create(self) -> PrivateCluster:
        self.bindir = pg_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under /usr/lib/postgresql")
        self.datadir = Path(tempfile.mkdtemp(prefix="tongxin-load-pg-"))
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.datadir, "postgres", "postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self.port = self.port or benchlib.free_port()
        subprocess.run([*self.as_postgres, str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True, timeout=120)
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.datadir}'\n"
                       "max_connections = 200\nfsync = on\nsynchronous_commit = on\n")
        return self

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        assert self.bindir and self.datadir
        subprocess.run([*self.as_postgres, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", "-t",
                        str(int(timeout)), "-l", str(self.datadir / "server.log"), *args],
                       check=True, capture_output=True, timeout=timeout + 15)

    def start(self) -> None:
        self._pg_ctl("start")
        self.wait_ready()

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "immediate") -> float:
        """Stop (``immediate``: no shutdown checkpoint, like a crash) and start again; returns the
        seconds the server was unreachable."""
        began = time.monotonic()
        self.stop(mode)
        self.start()
        return time.monotonic() - began

    def wait_ready(self, timeout: float = 60) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url + "/postgres", connect_timeout=3):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def create_database(self, name: str) -> str:
        import psycopg

        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ValueError(name)
        with psycopg.connect(self.url + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"

    def destroy(self) -> None:
        if self.datadir is None:
            return
        if (self.datadir / "postmaster.pid").exists():
            with suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)
        self.datadir = None


def pg_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url + "/postgres", connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


@contextmanager
def private_cluster() -> Any:
    cluster = PrivateCluster().create()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


# --- Redis: one database number of our own -------------------------------------------------------

def redis_available(db: int) -> tuple[bool, str]:
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379, db=db, socket_connect_timeout=2)
        size = client.dbsize()
    except Exception as exc:
        return False, f"Redis not reachable at 127.0.0.1:6379 ({exc.__class__.__name__})"
    if size:
        return False, f"Redis database {db} is not empty ({size} keys): choose another with --redis-db"
    return True, f"redis://127.0.0.1:6379/{db}"


def redis_flush(db: int) -> None:
    with suppress(Exception):
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=db, socket_connect_timeout=2).flushdb()


def migrate(*, fast: bool = False) -> list[str]:
    """Migrate the throw-away database. If the full migration fails (another engineer's app mid-change),
    migrate app by app and return the labels of the apps that could not be migrated: the scenario needs
    core, regions, accounts, workorders and residents only. ``fast``: create the tables straight from
    the models (as pytest-django's ``--nomigrations`` does) — data migrations and SQL-only objects of
    the migrations are then absent; the scenario's seed creates what it needs."""
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    if fast:
        settings.MIGRATION_MODULES = {config.label: None for config in apps.get_app_configs()}
        call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
        return []
    try:
        call_command("migrate", verbosity=0, interactive=False)
        return []
    except Exception:
        connection.close()
    failed = []
    for config in apps.get_app_configs():
        if not (Path(config.path) / "migrations").is_dir():
            continue
        try:
            call_command("migrate", config.label, verbosity=0, interactive=False)
        except Exception as exc:
            failed.append(f"{config.label} ({exc.__class__.__name__})")
            connection.close()
    return failed


# --- the world ------------------------------------------------------------------------------------

@dataclass
class Seed:
    operators: list[str]  # API tokens of operators (create and dispatch)
    handlers: dict[str, list[str]]  # department id -> tokens of its handlers
    departments: dict[str, int]  # "housing"/"education" -> department id
    residents: list[dict[str, str]]  # {"token": code token, "phone": ...}
    categories: dict[str, str]  # department key -> category code routed there

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> Seed:
        return cls(**json.loads(path.read_text()))


def seed(*, operators: int, handlers_per_department: int, households: int, fast_sla: bool) -> Seed:
    """The fixed test world (tongxin.testing.build_world) plus what the scenario needs: extra operators
    and handlers with API tokens and phones (so dispatch notifications also go out by SMS), households
    with one resident each (the phone is the one they sign in with), the residents' channel owner.
    ``fast_sla``: the critical urgency gets limits of seconds (sign-off 36 s, completion 72 s), so that
    the SLA sweep has reminders and supervisions to do within a short run."""
    from django.db import transaction

    from tongxin.accounts.choices import Role
    from tongxin.accounts.services import api_token_create, role_grant
    from tongxin.residents import services as residents
    from tongxin.residents.models import Household, Resident
    from tongxin.testing import build_world, make_user
    from tongxin.workorders.models import SlaRule

    with transaction.atomic():
        world = build_world()
        residents.channel_owner_ensure(area=world.city)
        op_tokens = []
        for i in range(operators):
            user = make_user(f"load_operator{i}")
            role_grant(user=user, role=Role.OPERATOR, area=world.city, department=None)
            op_tokens.append(api_token_create(user=user, name="load")[1])
        dept_tokens: dict[str, list[str]] = {}
        for key, dept in (("housing", world.housing), ("education", world.education)):
            dept_tokens[str(dept.pk)] = []
            for i in range(handlers_per_department):
                user = make_user(f"load_{key}{i}")
                user.phone = f"137{dept.pk:02d}{i:06d}"
                user.save(update_fields=["phone"])
                role_grant(user=user, role=Role.HANDLER, area=None, department=dept)
                dept_tokens[str(dept.pk)].append(api_token_create(user=user, name="load")[1])
        Household.objects.bulk_create([
            Household(area=world.community_a, grid=world.grid_a, address=f"甲社区晨光小区{i // 48 + 1}号楼{i % 48 + 101}",
                      building=f"{i // 48 + 1}号楼", room=str(i % 48 + 101)) for i in range(households)
        ], batch_size=1000)
        homes = list(Household.objects.order_by("id"))
        Resident.objects.bulk_create([Resident(household=h, name="居民", phone=f"139{h.pk:08d}") for h in homes],
                                     batch_size=1000)
        people = [{"token": residents.code_token(h), "phone": f"139{h.pk:08d}"} for h in homes]
        if fast_sla:
            SlaRule.objects.filter(urgency="critical").update(sign_value=0.01, sign_unit="natural_hours",
                                                              completion_value=0.02, completion_unit="natural_hours")
    return Seed(operators=op_tokens, handlers=dept_tokens,
                departments={"housing": world.housing.pk, "education": world.education.pk},
                residents=people, categories={"housing": world.category_leaf.code, "education": world.category_other.code})


# --- servers --------------------------------------------------------------------------------------

def server_env(database_url: str, *, redis_url: str, sms_file: Path, huey_file: Path) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1", "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING", "TONGXIN_SMS_BACKEND": "load.smsfile.FileSmsBackend", "LOAD_SMS_FILE": str(sms_file),
        "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(ROOT)]), "HUEY_IMMEDIATE": "0", **RATE_ENV,
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env["HUEY_SQLITE_PATH"] = str(huey_file)
    return env


@dataclass
class TaskWorker:
    """``tongxin worker`` (the Huey consumer, periodic jobs included) as a child process."""

    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", "from tongxin.cli import main; main()", "worker"],
                                         env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.starts += 1

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Huey's graceful stop: finish the running task
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- what the database holds afterwards -----------------------------------------------------------

def read_acks(folder: Path) -> list[dict[str, Any]]:
    """Every acknowledged (2xx) write the load clients recorded, from their JSON-lines files."""
    acks = []
    for path in sorted(folder.glob("acks-*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                with suppress(json.JSONDecodeError):  # a client killed mid-line leaves half a line
                    acks.append(json.loads(line))
    return acks


@dataclass
class Verdict:
    acknowledged: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)
    half_written: list[str] = field(default_factory=list)
    duplicate_notifications: list[str] = field(default_factory=list)
    missing_notifications: list[str] = field(default_factory=list)
    sms: dict[str, int] = field(default_factory=dict)
    sweep_pending: int = 0
    orders: int = 0
    events: int = 0
    notifications: Counter[str] = field(default_factory=Counter)

    unnotified_dispatches: list[str] = field(default_factory=list)

    @property
    def core_ok(self) -> bool:
        """What the transactions guarantee: acknowledged writes kept, nothing half-written, nothing doubled."""
        return not (self.missing or self.half_written or self.duplicate_notifications or self.missing_notifications
                    or self.sms.get("duplicated", 0) or self.sweep_pending)

    @property
    def after_commit_lost(self) -> int:
        """Side effects done after the commit, lost when the process doing them died in between: the
        dispatch notifications of orders whose dispatch was not acknowledged, and SMS never sent."""
        return len(self.unnotified_dispatches) + self.sms.get("lost", 0)

    @property
    def ok(self) -> bool:
        return self.core_ok and not self.after_commit_lost

    def lines(self) -> list[str]:
        acked = sum(self.acknowledged.values())
        out = [
            f"acknowledged (2xx) writes: {acked:,} — " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.acknowledged.items())),
            f"found complete:            {sum(self.found.values()):,} — " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.found.items())),
            f"missing:                   {len(self.missing):,}",
            f"half-written:              {len(self.half_written):,} (of {self.orders:,} orders, {self.events:,} events)",
            f"duplicate notifications:   {len(self.duplicate_notifications):,} (per order, kind and recipient, over the events that cause them)",
            f"missing notifications:     {len(self.missing_notifications):,}",
            "notifications by kind:     " + (", ".join(f"{k} {v:,}" for k, v in sorted(self.notifications.items())) or "none"),
            f"SMS of notifications:      expected {self.sms.get('expected', 0):,}, sent {self.sms.get('sent', 0):,}, "
            f"still queued (retry) {self.sms.get('pending', 0):,}, lost {self.sms.get('lost', 0):,}, "
            f"duplicated {self.sms.get('duplicated', 0):,}",
            f"SLA sweep left pending:    {self.sweep_pending:,}",
            f"dispatched, never notified: {len(self.unnotified_dispatches):,} (the notification is written after the commit)",
            f"core invariants: {'clean' if self.core_ok else 'BROKEN'}; side effects after commit lost: {self.after_commit_lost:,}",
        ]
        for title, items in (("missing", self.missing), ("half-written", self.half_written),
                             ("duplicate notifications", self.duplicate_notifications),
                             ("missing notifications", self.missing_notifications),
                             ("dispatched, never notified", self.unnotified_dispatches)):
            if items:
                out.append(f"  first {title}: " + "; ".join(items[:8]))
        return out


def verify(acks: list[dict[str, Any]], *, sms_file: Path | None, sweep_now: Any = None,
           sms_pending: int = 0) -> Verdict:
    """Check, in the database the scenario used (Django set up on it):

    - every acknowledged write exists, complete: a created order with its number and its ``accept``
      event; a dispatched order with its ``dispatch`` event, a lead department and an active lead
      assignment; a signed order with its ``sign`` event; a reply with its ``reply`` event; a resident's
      report with its work order;
    - nothing is half-written, acknowledged or not: every order has exactly one ``accept`` event, a
      version equal to its number of events (every action bumps it once), events that lead to its
      status, a lead and an active lead assignment when dispatched or later, its number counted by the
      day's counter (the counter equals the orders of the day);
    - notifications: per (order, kind, recipient) no more than the events that cause them (dispatch,
      remind, supervise), and every lead handler of a dispatch notified;
    - SMS: every notification of an SMS kind to a user with a phone sent once (from the SMS file);
    - the SLA sweep has caught up (a dry run finds nothing left to do).
    """
    from django.db.models import Count

    from tongxin.accounts.models import Notification
    from tongxin.residents.models import Report
    from tongxin.workorders.models import DailyCounter, WorkOrder, WorkOrderAssignment, WorkOrderEvent
    from tongxin.workorders.sweep import sla_sweep

    v = Verdict()
    events: dict[int, list[str]] = defaultdict(list)
    for order_id, action in WorkOrderEvent.objects.order_by("id").values_list("order_id", "action"):
        events[order_id].append(action)
    orders = {o["id"]: o for o in WorkOrder.objects.values("id", "number", "status", "version", "lead_department_id")}
    leads = set(WorkOrderAssignment.objects.filter(active=True, role="lead").values_list("order_id", flat=True))
    v.orders, v.events = len(orders), sum(len(e) for e in events.values())
    reports = set(Report.objects.values_list("order_id", flat=True))

    for ack in acks:
        kind, oid = ack["op"], int(ack["id"])
        v.acknowledged[kind] += 1
        order = orders.get(oid)
        need = {"create": "accept", "dispatch": "dispatch", "sign": "sign", "reply": "reply", "report": "accept"}[kind]
        ok = order is not None and need in events.get(oid, [])
        if ok and kind == "create":
            ok = order["number"] == ack.get("number")
        if ok and kind == "dispatch":
            ok = order["lead_department_id"] is not None or order["status"] in ("replied", "closed")
        if ok and kind == "report":
            ok = oid in reports
        if ok:
            v.found[kind] += 1
        else:
            v.missing.append(f"{kind} of order {oid}")

    after_dispatch = {"dispatched", "in_progress", "replied", "closed"}
    need_for_status = {"dispatched": {"dispatch"}, "in_progress": {"dispatch", "sign"},
                       "replied": {"dispatch", "sign", "reply"}}
    for oid, order in orders.items():
        evs = events.get(oid, [])
        problems = []
        if evs.count("accept") != 1:
            problems.append(f"{evs.count('accept')} accept events")
        if order["version"] != len(evs):
            problems.append(f"version {order['version']} but {len(evs)} events")
        lacking = need_for_status.get(order["status"], set()) - set(evs)
        if lacking:
            problems.append(f"status {order['status']} without {','.join(sorted(lacking))}")
        if order["status"] in after_dispatch - {"replied", "closed"} and (
                order["lead_department_id"] is None or oid not in leads):
            problems.append("dispatched without a lead or its active assignment")
        if problems:
            v.half_written.append(f"order {order['number']}: " + "; ".join(problems))
    per_day: Counter[str] = Counter(o["number"][:8] for o in orders.values())
    for counter in DailyCounter.objects.all():
        day = f"{counter.day:%Y%m%d}"
        if counter.last != per_day.get(day, 0):
            v.half_written.append(f"day counter {day} at {counter.last} but {per_day.get(day, 0)} orders")
    numbers = Counter(o["number"] for o in orders.values())
    v.half_written += [f"number {n} used {c} times" for n, c in numbers.items() if c > 1]

    cause = {"dispatched": "dispatch", "remind": "remind", "supervise": "supervise"}
    rows = (Notification.objects.filter(object_type="workorder").values("object_id", "kind", "recipient_id")
            .annotate(n=Count("id")))
    notified: set[tuple[int, int]] = set()
    for row in rows:
        v.notifications[row["kind"]] += row["n"]
        oid = int(row["object_id"])
        if row["kind"] == "dispatched":
            notified.add((oid, row["recipient_id"]))
        allowed = events.get(oid, []).count(cause.get(row["kind"], row["kind"]))
        if row["kind"] in cause and row["n"] > allowed:
            v.duplicate_notifications.append(
                f"order {oid} {row['kind']} to user {row['recipient_id']}: {row['n']} for {allowed} events")
    from tongxin.accounts.selectors import department_users

    handlers_of: dict[int, list[int]] = {}
    for ack in acks:
        if ack["op"] != "dispatch":
            continue
        dept = int(ack["department"])
        handlers_of.setdefault(dept, [u.pk for u in department_users(dept)])
        for uid in handlers_of[dept]:
            if (int(ack["id"]), uid) not in notified:
                v.missing_notifications.append(f"dispatch of order {ack['id']} to user {uid}")

    notified_orders = {oid for oid, _uid in notified}
    v.unnotified_dispatches = [f"order {orders[oid]['number']}" for oid in sorted(orders)
                               if "dispatch" in events.get(oid, []) and oid not in notified_orders]

    if sms_file is not None:
        from tongxin.accounts.services import sms_notify_kinds

        kinds = sms_notify_kinds()
        expected: set[int] = set()
        by_text: dict[tuple[str, str], int] = {}
        for n in Notification.objects.filter(kind__in=kinds, recipient__phone__gt="").select_related("recipient"):
            by_text[(n.recipient.phone, " ".join(f"【同心】{n.title}"[:140].split()))] = n.pk
            expected.add(n.pk)
        sent: Counter[int] = Counter()
        if sms_file.exists():
            for line in sms_file.read_text().splitlines():
                phone, _, text = line.partition("\t")
                pk = by_text.get((phone, text))
                if pk is not None:
                    sent[pk] += 1
        unsent = sum(1 for pk in expected if not sent[pk])
        v.sms = {"expected": len(expected), "sent": sum(1 for pk in expected if sent[pk]),
                 "pending": min(unsent, sms_pending), "lost": max(0, unsent - sms_pending),
                 "duplicated": sum(1 for pk in sent if sent[pk] > 1)}
    pending = sla_sweep(dry_run=True, now=sweep_now)
    v.sweep_pending = len(pending.sign_reminders) + len(pending.due_reminders) + len(pending.supervisions)
    return v
