"""Fault test under the morning peak: kill -9 app and task workers and restart PostgreSQL mid-load, then count what was lost.

    .venv/bin/python bench/faults.py                  # 60 s of load with five faults (4–7 minutes in all)
    .venv/bin/python bench/faults.py --quick          # 30 s of load, the same faults closer together
    .venv/bin/python bench/faults.py --duration 90 --users 40

The stack is the load scenario's (bench/load): a private PostgreSQL cluster (initdb in /tmp, its own
port; the shared server is never touched) with a throw-away database, gunicorn, the task worker
(``tongxin worker``, Huey on Redis database ``--redis-db``, which must be empty; it is emptied at the
end) and locust. The critical urgency gets limits of seconds (sign-off 36 s, completion 72 s) and a
share of the requests is critical, so that the SLA sweep has reminders and supervisions to write
during the run; the sweep is enqueued every ``--sweep-every`` seconds (in production the periodic
task does it every five minutes).

Faults, at fixed fractions of the run: kill -9 a gunicorn worker (25 %), kill -9 the task worker (40 %)
and start it again (50 %; the sweeps queued meanwhile must catch up), restart PostgreSQL in
``immediate`` mode — no shutdown checkpoint, WAL recovery at start, like a crash (60 %), kill -9 another
gunicorn worker (75 %). Afterwards the final sweep runs, the task queue drains, and the script waits
(``--catch-up`` s at most) until the workers have caught up: no SMS still due in the outbox
(Notification.sms_due / sms_claimed_at / sms_sent_at: the minute sweep sends what a lost task left, and
what a killed sender held once its claim's lease — shortened to ``--sms-lease`` s in the task worker —
has passed), no resident report receipt still waiting for its work order, nothing queued. Then the
database is checked (load/world.py ``verify``): every acknowledged (2xx) write exists, complete, with
its events, and every 201-answered report is exactly one work order (found by a tag in its text, with
or without receipts); nothing is half-written (events, versions, lead assignments, the day's order
counter, receipts' states); notifications per (order, kind, recipient) no more than the events that
cause them, none missing for a dispatch; every due SMS in the SMS file exactly once and the outbox
agreeing; the sweep caught up.

Also counted: side effects that the app does after the commit and loses when it dies in between —
the dispatch notifications of a dispatch that committed but was never answered (written in the
dispatch's transaction since 2026-12-02: expected 0), and SMS never sent; and SMS sent twice (the outbox
delivers at least once: a sender killed after the gateway took a message and before it marked the row
sent leaves the row claimed, and another sender sends it again after the lease).

Prints the counts (acknowledged, found, missing, half-written, duplicate notifications, SMS, …) and exits
1 when anything was lost, half-written or duplicated, or the workers did not catch up (the "core
invariants" line says whether the transactional guarantees held, apart from the side effects after
commit), 0 when nothing was, 2 when nothing could be measured (no PostgreSQL binaries, nothing
acknowledged).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(1, str(BENCH_DIR.parent))

import benchlib  # noqa: E402
from load import scenario, world  # noqa: E402


def log(t0: float, text: str) -> None:
    print(f"  [{time.monotonic() - t0:5.1f} s] {text}", flush=True)


def kill_app_worker(stack: scenario.Stack, t0: float) -> None:
    assert stack.gunicorn is not None
    pids = stack.gunicorn.worker_pids()
    if not pids:
        log(t0, "no gunicorn worker to kill")
        return
    victim = pids[-1]
    _kill9(victim)
    log(t0, f"kill -9 gunicorn worker {victim} (the master starts another)")


def _kill9(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def enqueue_sweep() -> bool:
    from tongxin.workorders.tasks import sla_sweep_task

    try:
        sla_sweep_task()
        return True
    except Exception:  # Redis unreachable: the next one will do
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--spawn-rate", type=float, default=15)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--households", type=int, default=200)
    parser.add_argument("--critical-share", type=float, default=0.3, help="share of critical requests (default 0.3)")
    parser.add_argument("--sweep-every", type=float, default=5.0, help="seconds between enqueued SLA sweeps (default 5)")
    parser.add_argument("--drain", type=float, default=30.0, help="seconds to wait for the task queue to drain (default 30)")
    parser.add_argument("--sms-lease", type=float, default=30.0,
                        help="seconds of the SMS outbox's claim lease in the task worker (default 30; the app's is 300)")
    parser.add_argument("--catch-up", type=float, default=240.0,
                        help="seconds to wait after the load for the outbox and receipts to be done (default 240)")
    parser.add_argument("--keep-logs", type=Path, default=None,
                        help="copy the task worker's, gunicorn's and locust's logs and the acks into this folder")
    parser.add_argument("--redis-db", type=int, default=14, help="Redis database number of our own (default 14; -1: Huey on SQLite)")
    parser.add_argument("--fast-schema", action="store_true",
                        help="create the tables from the models (no migrations): quicker, for the test suite")
    parser.add_argument("--quick", action="store_true", help="30 s of load, 20 users")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.users, args.households = min(args.duration, 30), min(args.users, 20), min(args.households, 100)
    args.duration = max(15.0, min(args.duration, 600.0))
    if world.pg_bindir() is None:
        print("not measured: the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        return 2
    benchlib.install_signal_handlers()
    benchlib.print_machine()
    print(f"machine busy before the run: {benchlib.busy_fraction(2.0):.0%} of its CPUs")
    with scenario.Stack(workers=args.workers, threads=args.threads, households=args.households, fast_sla=True,
                        sms_lease=args.sms_lease, redis_db=None if args.redis_db < 0 else args.redis_db, fast_schema=args.fast_schema) as stack:
        for note in stack.notes:
            print(note)
        assert stack.cluster is not None and stack.task_worker is not None
        d = args.duration
        plan = [
            (0.25 * d, "app worker", lambda: kill_app_worker(stack, t0)),
            (0.40 * d, "task worker", lambda: (stack.task_worker.kill9(), log(t0, "kill -9 the task worker"))),
            (0.50 * d, "task worker back", lambda: (stack.task_worker.start(), log(t0, "task worker started again"))),
            (0.60 * d, "PostgreSQL", lambda: log(t0, f"PostgreSQL restarted (immediate): down {stack.cluster.restart('immediate'):.1f} s")),
            (0.75 * d, "app worker", lambda: kill_app_worker(stack, t0)),
        ]
        print(f"load: {args.users} users for {d:.0f} s, {args.critical_share:.0%} critical; faults at "
              + ", ".join(f"{when:.0f} s {what}" for when, what, _ in plan), flush=True)
        stop = threading.Event()
        sweeps = [0]

        def sweeper() -> None:
            while not stop.wait(args.sweep_every):
                sweeps[0] += enqueue_sweep()

        t0 = time.monotonic()
        proc = scenario.start_locust(stack, users=args.users, spawn_rate=args.spawn_rate, duration=d,
                                     csv_prefix=stack.tmp / "stats", critical_share=args.critical_share)
        thread = threading.Thread(target=sweeper, daemon=True)
        thread.start()
        for when, what, action in plan:
            time.sleep(max(0.0, when - (time.monotonic() - t0)))
            try:
                action()
            except Exception as exc:
                log(t0, f"fault '{what}' failed: {exc!r}")
        code = scenario.wait_locust(proc, d)
        stop.set()
        thread.join(timeout=10)
        log(t0, f"load finished (locust exit {code}); {sweeps[0]} sweeps enqueued")
        benchlib.close_django_connections()
        # The final sweep: every deadline passed before this moment must be handled once it has run.
        from django.utils import timezone

        final_at = timezone.now()
        enqueue_sweep()
        # The worker may have a backlog (sweeps queued while it was down, SMS retries): the final sweep has
        # run once the queue is empty (Huey keeps no result of a periodic task to wait on). The reminder
        # windows are judged at that moment (see load.world.verify).
        pending, scheduled = scenario.drain_tasks(args.drain)
        if pending > 0:  # a restarted worker on a saturated machine may need a minute to start consuming
            log(t0, f"task queue: {pending} still pending after {args.drain:.0f} s; waiting for it to drain")
            pending, scheduled = scenario.drain_tasks(args.catch_up)
        final_done = timezone.now()
        log(t0, f"task queue: {pending} pending, {scheduled} scheduled (retries)")
        left = scenario.catch_up(args.catch_up, report=lambda text: log(t0, text))
        pending, scheduled = left["queued"], left["retries"]
        caught_up = scenario.caught_up(left)
        log(t0, "caught up" if caught_up else "NOT caught up: " + ", ".join(f"{k} {v}" for k, v in left.items()))
        rows = scenario.read_stats(stack.tmp / "stats")
        exceptions = scenario.read_exceptions(stack.tmp / "stats")
        verdict = world.verify(world.read_acks(stack.ack_dir), sms_file=stack.sms_file, sweep_now=final_at,
                               sweep_done=final_done,
                               sms_pending=max(0, pending) + max(0, scheduled))
        benchlib.close_django_connections()
        worker_starts = stack.task_worker.starts
        if args.keep_logs is not None:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            gunicorn_log = [stack.gunicorn.log_path] if stack.gunicorn and stack.gunicorn.log_path else []
            for path in [*stack.tmp.glob("*.log"), *stack.tmp.glob("stats_*.csv"), stack.sms_file,
                         *stack.ack_dir.glob("*"), *gunicorn_log]:
                with suppress(OSError):
                    shutil.copy(path, args.keep_logs / path.name)
    total = next((r for r in rows if r.name == "Aggregated"), None)
    print()
    if total is not None:
        print(scenario.stats_table(rows))
        print(f"\nrequests {total.requests:,}, failed {total.failures:,} (expected around the faults: "
              "connections cut by kill -9 and the PostgreSQL restart are answered 5xx or not at all)")
    for line in exceptions[:10]:
        print("  exception in the scenario: " + line)
    print(f"task worker started {worker_starts} times")
    print("counts:")
    for line in verdict.lines():
        print("  " + line)
    acknowledged = sum(verdict.acknowledged.values())
    if acknowledged == 0:
        print("result: nothing acknowledged: not measured")
        return 2
    met = verdict.ok and caught_up
    print(f"result: {acknowledged:,} acknowledged writes, {len(verdict.missing)} missing, {len(verdict.half_written)} "
          f"half-written, {len(verdict.duplicate_notifications)} duplicate notifications, "
          f"SMS {verdict.sms.get('sent', 0):,} of {verdict.sms.get('expected', 0):,} sent "
          f"({verdict.sms.get('duplicated', 0):,} twice, {verdict.sms.get('lost', 0):,} lost, "
          f"{verdict.sms.get('pending', 0):,} still due), {verdict.after_commit_lost} side effects after commit lost, "
          f"workers {'caught up' if caught_up else 'NOT caught up'}; target: nothing lost, half-written or "
          f"duplicated, every SMS sent once: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
