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


# The task worker: ``tongxin worker``, with the SMS outbox's claim lease (tongxin.accounts.services.SMS_LEASE,
# five minutes) shortened to LOAD_SMS_LEASE seconds when that is set — the fault script's time scale, as
# fast_sla shortens the SLA limits: a sender killed holding a claim is taken over after the lease, and a
# run should not have to wait five minutes for it. Only the task worker sends SMS of notifications.
WORKER_BOOT = (
    "import os, django\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tongxin.settings')\n"
    "django.setup()\n"
    "if os.environ.get('LOAD_SMS_LEASE'):\n"
    "    from datetime import timedelta\n"
    "    import tongxin.accounts.services as accounts_services\n"
    "    accounts_services.SMS_LEASE = timedelta(seconds=float(os.environ['LOAD_SMS_LEASE']))\n"
    "from tongxin.cli import main\n"
    "main()\n"
)


@dataclass
class TaskWorker:
    """``tongxin worker`` (the Huey consumer, periodic jobs included) as a child process."""

    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", WORKER_BOOT, "worker"],
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
    sweep_pending_orders: list[str] = field(default_factory=list)
    sweep_window_closed: list[str] = field(default_factory=list)
    orders: int = 0
    events: int = 0
    notifications: Counter[str] = field(default_factory=Counter)

    unnotified_dispatches: list[str] = field(default_factory=list)
    # The SMS outbox (Notification.sms_due / sms_claimed_at / sms_sent_at) and, once resident reports
    # are taken in as receipts (Report.state), the receipts: what the database says is still to do.
    outbox: dict[str, int] = field(default_factory=dict)
    receipts: dict[str, int] = field(default_factory=dict)

    @property
    def core_ok(self) -> bool:
        """What the transactions guarantee: acknowledged writes kept, nothing half-written, nothing doubled."""
        return not (self.missing or self.half_written or self.duplicate_notifications or self.missing_notifications
                    or self.outbox.get("marked_unsent", 0) or self.sweep_pending
                    or self.receipts.get("doubled", 0) or self.receipts.get("failed", 0))

    @property
    def after_commit_lost(self) -> int:
        """Side effects done after the commit, lost when the process doing them died in between: the
        dispatch notifications of orders whose dispatch was not acknowledged, and SMS never sent."""
        return len(self.unnotified_dispatches) + self.sms.get("lost", 0)

    @property
    def sms_resent(self) -> int:
        """SMS sent twice: the outbox delivers at least once, so a sender killed after the gateway took a
        message and before the row was marked sent leaves it claimed; after the claim's lease another
        sender sends it again. Not a transactional guarantee (the gateway is outside the transaction):
        reported, and it fails the run's verdict (exit 1) like a lost side effect, not the core invariants."""
        return self.sms.get("duplicated", 0)

    @property
    def ok(self) -> bool:
        return self.core_ok and not self.after_commit_lost and not self.sms_resent

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
            f"SMS outbox (database):     due {self.outbox.get('due', 0):,}, marked sent {self.outbox.get('sent', 0):,}, "
            f"still due {self.outbox.get('unsent', 0):,} (of which claimed by a sender {self.outbox.get('claimed', 0):,}); "
            f"marked sent but not in the SMS file {self.outbox.get('marked_unsent', 0):,}, "
            f"in the file but not marked {self.outbox.get('sent_unmarked', 0):,}",
            *(["report receipts:           " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.receipts.items()))]
              if self.receipts else []),
            f"SLA sweep left pending:    {self.sweep_pending:,}"
            + (f" ({len(self.sweep_window_closed):,} reminders whose window closed before the final sweep ran "
               "not counted)" if self.sweep_window_closed else ""),
            f"dispatched, never notified: {len(self.unnotified_dispatches):,} (written with the dispatch since 2026-12-02, after its commit before)",
            f"core invariants: {'clean' if self.core_ok else 'BROKEN'}; side effects after commit lost: {self.after_commit_lost:,}; "
            f"SMS sent again after a killed sender (at least once): {self.sms_resent:,}",
        ]
        for title, items in (("missing", self.missing), ("half-written", self.half_written),
                             ("duplicate notifications", self.duplicate_notifications),
                             ("missing notifications", self.missing_notifications),
                             ("dispatched, never notified", self.unnotified_dispatches),
                             ("left by the SLA sweep", self.sweep_pending_orders),
                             ("reminder windows closed before the final sweep", self.sweep_window_closed)):
            if items:
                out.append(f"  first {title}: " + "; ".join(items[:8]))
        return out


def verify(acks: list[dict[str, Any]], *, sms_file: Path | None, sweep_now: Any = None, sweep_done: Any = None,
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
    # Resident reports: until tongxin/residents takes them in as receipts (Report.state, the order made
    # later by a worker) the 201 answer carries the order's id; afterwards it carries the receipt's (the
    # Report's) id and the order may come later. Either way the scenario writes a unique tag into the
    # text, so "a 201-answered report ends as exactly one work order" is checked by the tag.
    receipts = report_receipts_enabled()
    report_fields = ["id", "order_id", *(["state"] if receipts else [])]
    report_rows = list(Report.objects.values(*report_fields))
    reports = {r["order_id"] for r in report_rows if r["order_id"] is not None}
    reports_by_id = {r["id"]: r for r in report_rows}
    orders_by_tag: dict[str, list[int]] = defaultdict(list)
    for oid, content in WorkOrder.objects.filter(content__contains=REPORT_TAG).values_list("id", "content"):
        for tag in REPORT_TAG_RE.findall(content):
            orders_by_tag[tag].append(oid)
    if receipts:
        v.receipts = dict(Counter(str(r["state"]) for r in report_rows))
        half = [r for r in report_rows if (r["order_id"] is None) == (str(r["state"]) == "registered")]
        v.half_written += [f"report {r['id']}: state {r['state']} but order {r['order_id']}" for r in half]
    doubled = {tag: ids for tag, ids in orders_by_tag.items() if len(ids) > 1}
    if doubled:
        v.receipts["doubled"] = len(doubled)
        v.half_written += [f"report {tag} made {len(ids)} orders: {sorted(ids)}" for tag, ids in list(doubled.items())[:20]]

    for ack in acks:
        kind = ack["op"]
        v.acknowledged[kind] += 1
        oid = int(ack["id"]) if ack.get("id") is not None else -1
        if kind == "report":
            oid, why = _report_order(ack, receipts=receipts, reports_by_id=reports_by_id, orders_by_tag=orders_by_tag)
            if oid is None:
                v.missing.append(f"report {ack.get('tag') or ack.get('id')}: {why}")
                continue
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
        v.sms, v.outbox = _sms_counts(sms_file, sms_pending=sms_pending)
    pending = sla_sweep(dry_run=True, now=sweep_now)
    left = [f"{n} sign reminder" for n in pending.sign_reminders] + [f"{n} due reminder" for n in pending.due_reminders]
    if sweep_done is not None:
        # A reminder is due only inside its window (warn ≤ now ≤ deadline): one whose deadline passed
        # between ``sweep_now`` and the moment the final sweep actually ran was not the sweep's to send
        # (the breach supervision takes over). Only those are set apart; a supervision never expires.
        deadline = {n: d for n, d in WorkOrder.objects.filter(number__in=pending.sign_reminders)
                    .values_list("number", "sign_due_at")}
        deadline.update({f"{n} due": d for n, d in WorkOrder.objects.filter(number__in=pending.due_reminders)
                         .values_list("number", "due_at")})
        keys = [n for n in pending.sign_reminders] + [f"{n} due" for n in pending.due_reminders]
        closed = {k for k in keys if deadline.get(k) is not None and deadline[k] < sweep_done}
        v.sweep_window_closed = [text for key, text in zip(keys, left, strict=True) if key in closed]
        left = [text for key, text in zip(keys, left, strict=True) if key not in closed]
    v.sweep_pending_orders = left + [f"{n} supervision" for n in pending.supervisions]
    v.sweep_pending = len(v.sweep_pending_orders)
    return v


REPORT_TAG = "随手拍 #"
REPORT_TAG_RE = re.compile(r"随手拍 #([0-9]+-[0-9]+)")


def report_receipts_enabled() -> bool:
    """Whether resident reports are taken in as receipts (a ``state`` on Report, the order made by a
    worker) — the change landing in tongxin/residents — or, as before, make the order in the request."""
    from tongxin.residents.models import Report

    return any(f.name == "state" for f in Report._meta.get_fields())


def _report_order(ack: dict[str, Any], *, receipts: bool, reports_by_id: dict[int, dict[str, Any]],
                  orders_by_tag: dict[str, list[int]]) -> tuple[int | None, str]:
    """The work order a 201-answered report ended as, or None and why not."""
    tag = ack.get("tag")
    if tag:
        ids = orders_by_tag.get(tag, [])
        if len(ids) == 1:
            if receipts and ack.get("id") is not None:  # the receipt answered must be the one that made it
                row = reports_by_id.get(int(ack["id"]))
                if row is None or row["order_id"] != ids[0]:
                    return None, f"receipt {ack['id']} is not the report of order {ids[0]}"
            return ids[0], ""
        if ids:
            return None, f"{len(ids)} orders"
        if receipts and ack.get("id") is not None:
            row = reports_by_id.get(int(ack["id"]))
            return None, f"receipt {ack['id']} {'not found' if row is None else 'still ' + str(row['state'])}"
        return None, "no order"
    if receipts:  # an untagged acknowledgement: the id is the receipt's
        row = reports_by_id.get(int(ack["id"]))
        if row is None or row["order_id"] is None:
            return None, "no order" if row else "receipt not found"
        return int(row["order_id"]), ""
    return int(ack["id"]), ""


def outbox_backlog() -> dict[str, int]:
    """What the workers still have to do after the load: notifications whose SMS is due and not sent
    (``claimed``: a sender holds it, or held it when it was killed: the sweep takes it again when the
    lease ends) and report receipts not yet made into an order."""
    from tongxin.accounts.models import Notification

    due = Notification.objects.filter(sms_due=True, sms_sent_at__isnull=True)
    out = {"sms_due": due.count(), "sms_claimed": due.filter(sms_claimed_at__isnull=False).count(), "receipts": 0}
    if report_receipts_enabled():
        from tongxin.residents.models import Report

        out["receipts"] = Report.objects.filter(order__isnull=True).exclude(state="failed").count()
    return out


def _sms_counts(sms_file: Path, *, sms_pending: int) -> tuple[dict[str, int], dict[str, int]]:
    """SMS of the notifications of SMS kinds to users with a phone, counted twice: in the SMS file (what
    the backend sent: the phone's view) and in the outbox columns (what the database believes).

    A message matches its notification by phone and text; several notifications with the same text to
    the same phone (two reminders of one order) share their lines. ``sent``: notifications sent at least
    once; ``duplicated``: lines beyond one per notification; ``pending``: not sent and still due in the
    outbox (the sweep will send them) — or, for rows written without the outbox, up to ``sms_pending``
    tasks still queued; ``lost``: the rest, plus rows the outbox marks sent that never reached the file.
    """
    from tongxin.accounts.models import Notification
    from tongxin.accounts.services import sms_notify_kinds

    rows = list(Notification.objects.filter(kind__in=sms_notify_kinds(), recipient__phone__gt="")
                .values("pk", "title", "sms_due", "sms_claimed_at", "sms_sent_at", "recipient__phone"))
    by_text: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_text[(row["recipient__phone"], " ".join(f"【同心】{row['title']}"[:140].split()))].append(row)
    lines: Counter[tuple[str, str]] = Counter()
    if sms_file.exists():
        for line in sms_file.read_text().splitlines():
            phone, _, text = line.partition("\t")
            if (phone, text) in by_text:
                lines[(phone, text)] += 1
    sent_pks: set[int] = set()
    duplicated = 0
    for key, group in by_text.items():
        m = lines[key]
        # Lines go first to the rows the outbox marks sent, then to the oldest.
        group.sort(key=lambda r: (r["sms_sent_at"] is None, r["pk"]))
        sent_pks.update(r["pk"] for r in group[:m])
        duplicated += max(0, m - len(group))
    unsent = [r for r in rows if r["pk"] not in sent_pks]
    marked_unsent = sum(1 for r in unsent if r["sms_sent_at"] is not None)
    due_unsent = sum(1 for r in unsent if r["sms_due"] and r["sms_sent_at"] is None)
    legacy_unsent = sum(1 for r in unsent if not r["sms_due"])
    legacy_pending = min(legacy_unsent, sms_pending)
    sms = {"expected": len(rows), "sent": len(sent_pks), "pending": due_unsent + legacy_pending,
           "lost": marked_unsent + legacy_unsent - legacy_pending, "duplicated": duplicated}
    due = [r for r in rows if r["sms_due"]]
    outbox = {"due": len(due), "sent": sum(1 for r in due if r["sms_sent_at"] is not None),
              "unsent": sum(1 for r in due if r["sms_sent_at"] is None),
              "claimed": sum(1 for r in due if r["sms_sent_at"] is None and r["sms_claimed_at"] is not None),
              "marked_unsent": marked_unsent,
              "sent_unmarked": sum(1 for r in due if r["pk"] in sent_pks and r["sms_sent_at"] is None)}
    return sms, outbox
