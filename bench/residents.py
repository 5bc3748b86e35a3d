"""码上生活 benchmark: the code landing page and 随手拍 report submission, requests per second.

    .venv/bin/python bench/residents.py               # 15-second runs of each set-up (about 3 minutes)
    .venv/bin/python bench/residents.py --quick       # 5-second runs, one set-up (about 1 minute)
    .venv/bin/python bench/residents.py --configs gthread:2x4 --duration 30

Target: ≥ 300 report submissions/s against PostgreSQL with gunicorn on this 2-core machine.

What it does: a throw-away PostgreSQL database (private cluster when run as root, see benchlib), the
fixed test world, the residents' channel owner, 2,000 households with one resident each, and for each
household the signed resident cookie a real SMS login would set (made here with the servers'
SECRET_KEY). Then, for each server set-up, gunicorn on a loopback port and, for a fixed time:

- ``GET /r/<token>/`` — the page a scan opens, for a random household's code (not signed in: the
  phone-and-code form); every answer must be 200;
- ``POST /api/v1/residents/reports`` — multipart, one small JPEG (320×240 by default, ``--photo`` to
  change it; textured, with EXIF GPS) and
  text, as a random signed-in household, with the CSRF cookie and header. With ``--register task``
  (the default, ADR 0010) each request checks the photo's type and header and writes the receipt —
  the report and the photo's bytes — in one transaction and enqueues the worker's task (Huey on a
  SQLite file in the temporary directory: no consumer runs during the load); with ``--register
  inline`` (the pre-receipt cost) the same request then also decodes and re-encodes the photo,
  creates the work order through the engine's intake and attaches the photo. The receipts written
  must equal the 201 answers.
- the **drain**, after each set-up's load: ``report_register`` run in this process over every receipt
  still waiting (one after another, as one consumer thread would), receipts registered per second
  and CPU per receipt; then the check that every receipt became exactly one work order.

Load comes from wrk (Lua scripts below) when installed, else the Python client. Media files go to a
temporary directory, deleted at the end, as is the database.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
from benchlib import Gunicorn, LoadResult

TARGET = 300.0
HOUSEHOLDS = 2_000
SECRET_KEY = "bench-residents-" + "k" * 50
CSRF = "benchcsrftoken0123456789abcdefgh"  # a 32-character CSRF secret, sent as cookie and header
BOUNDARY = "----txbench7MA4YWxkTrZu0gW"
REPORT_PATH = "/api/v1/residents/reports"


def photo_bytes(width: int = 320, height: int = 240) -> bytes:
    """A JPEG with some texture (not a flat colour, which would encode to nothing) and GPS tags."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (120, 140, 160))
    draw = ImageDraw.Draw(image)
    rng = random.Random(7)
    for _ in range(300):
        x, y = rng.randrange(width), rng.randrange(height)
        draw.rectangle([x, y, x + rng.randrange(5, 60), y + rng.randrange(5, 40)],
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (37.0, 10.0, 0.0), 3: "E", 4: (107.0, 10.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()


def multipart_body(photo: bytes, text: str) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="content"\r\n\r\n{text}\r\n'.encode(),
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nhelp\r\n'.encode(),
        (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photos"; filename="photo.jpg"\r\n'
         "Content-Type: image/jpeg\r\n\r\n").encode() + photo + b"\r\n",
        f"--{BOUNDARY}--\r\n".encode(),
    ]
    return b"".join(parts)


def make_world(n: int) -> tuple[list[str], list[str]]:
    """Households with a resident each; returns the code tokens and the resident cookies."""
    from django.core import signing

    from tongxin.residents import services
    from tongxin.residents.models import Household, Resident
    from tongxin.residents.session import COOKIE, SALT
    from tongxin.testing import build_world

    world = build_world()
    services.channel_owner_ensure(area=world.city)
    Household.objects.bulk_create([
        Household(area=world.community_a, grid=world.grid_a, address=f"甲社区幸福小区{i // 48 + 1}号楼{i % 48 + 101}",
                  building=f"{i // 48 + 1}号楼", room=str(i % 48 + 101)) for i in range(n)
    ], batch_size=1000)
    households = list(Household.objects.order_by("id"))
    Resident.objects.bulk_create([Resident(household=h, name="居民", phone=f"139{h.pk:08d}") for h in households],
                                 batch_size=1000)
    residents = {r.household_id: r.pk for r in Resident.objects.all()}
    signer = signing.get_cookie_signer(salt=COOKIE + SALT)
    tokens, cookies = [], []
    for h in households:
        tokens.append(services.code_token(h))
        value = signer.sign(f"h:{h.pk}:{residents[h.pk]}:{h.code_version}")
        cookies.append(f"{COOKIE}={value}; csrftoken={CSRF}")
    return tokens, cookies


# --- load ------------------------------------------------------------------------------------------

_cache: dict[str, Any] = {}


def python_request(arg: tuple[random.Random, dict[str, str]]) -> tuple[str, str, bytes | None, dict[str, str]]:
    rng, spec = arg
    if "lines" not in _cache:
        _cache["lines"] = Path(spec["list"]).read_text().splitlines()
        _cache["body"] = Path(spec["body"]).read_bytes() if spec["method"] == "POST" else b""
    line = rng.choice(_cache["lines"])
    if spec["method"] == "GET":
        return "GET", f"/r/{line}/", None, {}
    return "POST", REPORT_PATH, _cache["body"], {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Cookie": line, "X-CSRFToken": CSRF,
    }


WRK_GET = r"""
local lines = {}
function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
  for line in io.lines("%(list)s") do lines[#lines + 1] = line end
end
request = function() return wrk.format("GET", "/r/" .. lines[math.random(#lines)] .. "/") end
"""

WRK_POST = r"""
local lines, body = {}, ""
function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
  for line in io.lines("%(list)s") do lines[#lines + 1] = line end
  local f = io.open("%(body)s", "rb"); body = f:read("*a"); f:close()
end
request = function()
  local headers = {["Content-Type"] = "multipart/form-data; boundary=%(boundary)s", ["X-CSRFToken"] = "%(csrf)s",
                   ["Cookie"] = lines[math.random(#lines)]}
  return wrk.format("POST", "%(path)s", headers, body)
end
"""


def drive(port: int, spec: dict[str, str], *, duration: float, connections: int, client: str) -> LoadResult:
    if client == "wrk":
        lua = (WRK_GET if spec["method"] == "GET" else WRK_POST) % {**spec, "boundary": BOUNDARY, "csrf": CSRF,
                                                                    "path": REPORT_PATH}
        return benchlib.run_wrk(port=port, lua=lua, duration=duration, connections=connections, threads=1)
    return benchlib.run_python_client(port=port, module="residents", factory="python_request", factory_arg=spec,
                                      duration=duration, processes=2, threads=max(1, connections // 2))


def report_count() -> int:
    from tongxin.residents.models import Report

    return Report.objects.count()


def drain() -> tuple[int, float, float, float, list[str]]:
    """Register every receipt still waiting, in this process, one after another (a consumer thread's
    work); returns (registered, wall s, app CPU s, PostgreSQL CPU s, failures)."""
    from django.db import connection

    from tongxin.residents import services
    from tongxin.residents.models import Report

    pending = list(Report.objects.filter(state="received").order_by("pk").values_list("pk", flat=True))
    backend = connection.cursor().connection.info.backend_pid
    db0, cpu0, began = benchlib.cpu_seconds([backend]), time.process_time(), time.monotonic()
    made, failures = 0, []
    for pk in pending:
        outcome = services.report_register(report_id=pk)
        made += outcome.outcome == "registered"
        if outcome.outcome != "registered":
            failures.append(f"{pk}: {outcome.outcome} {getattr(outcome.report, 'failure', '')}")
    return made, time.monotonic() - began, time.process_time() - cpu0, benchlib.cpu_seconds([backend]) - db0, failures


def verify_one_order_each() -> tuple[bool, str]:
    """Every receipt registered, each with its own work order, no staged bytes left."""
    from tongxin.residents.models import Report, ReportUpload
    from tongxin.workorders.models import WorkOrder

    reports = Report.objects.count()
    registered = Report.objects.filter(state="registered", order__isnull=False).count()
    distinct = Report.objects.exclude(order__isnull=True).values("order_id").distinct().count()
    orders, staged = WorkOrder.objects.count(), ReportUpload.objects.count()
    ok = reports == registered == distinct == orders and staged == 0
    return ok, (f"receipts {reports:,}, registered {registered:,}, distinct orders {distinct:,}, work orders "
                f"{orders:,}, staged photos left {staged}")


def settled(timeout: float = 15.0) -> int:
    last, since = report_count(), time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = report_count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 1.0:
            break
    return last


def measure(server: Gunicorn, spec: dict[str, str], *, db_name: str, args: argparse.Namespace, client: str,
            connections: int) -> tuple[LoadResult, float, float, float, str, bool]:
    writes = spec["method"] == "POST"
    if args.warmup > 0:
        drive(server.port, spec, duration=args.warmup, connections=connections, client=client)
    before = settled() if writes else 0
    pids = server.all_pids()
    app0 = benchlib.cpu_seconds(pids)
    db0 = {pid: benchlib.cpu_seconds([pid]) for pid in benchlib.pg_backend_pids(db_name)}
    busy0, _ = benchlib.machine_busy()
    began = time.monotonic()
    result = drive(server.port, spec, duration=args.duration, connections=connections, client=client)
    wall = time.monotonic() - began
    busy1, _ = benchlib.machine_busy()
    app = benchlib.cpu_seconds(pids) - app0
    # Per backend: one opened during the run counts from zero (one that closed is lost: CONN_MAX_AGE is
    # set long enough below that none should).
    db = sum(benchlib.cpu_seconds([pid]) - db0.get(pid, 0.0) for pid in benchlib.pg_backend_pids(db_name))
    if not writes:
        ok = set(result.statuses) == {200}
        return result, app, db, (busy1 - busy0) / wall / (os.cpu_count() or 1), f"answers {result.status_text()}", ok
    created = settled() - before
    ok201 = result.statuses.get(201, 0)
    extra = created - ok201
    ok = 0 <= extra <= result.in_flight + result.errors and set(result.statuses) <= {201}
    note = f"reports written {created:,} = 201 answers {ok201:,} + {extra} finished after the client stopped"
    return result, app, db, (busy1 - busy0) / wall / (os.cpu_count() or 1), note, ok


def parse_config(text: str) -> tuple[str, int, int]:
    kind, _, rest = text.partition(":")
    workers, _, threads = rest.partition("x")
    return kind, int(workers or 2), int(threads or (4 if kind == "gthread" else 1))


def main() -> int:
    parser = argparse.ArgumentParser(description="码上生活: landing page and report submissions per second.")
    parser.add_argument("--configs", default="gthread:2x4,gthread:3x4,sync:4")
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=0, help="default: 2 per worker thread")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--quick", action="store_true", help="5-second runs of gthread:2x4 only")
    parser.add_argument("--photo", default="320x240", help="size of the report's photo, WIDTHxHEIGHT (default 320x240)")
    parser.add_argument("--redis", default="", metavar="URL",
                        help="REDIS_URL for the servers and the drain (cache and Huey queue in Redis, as in production; "
                             "e.g. redis://127.0.0.1:6379/14 — its tongxin queue is flushed at the end); default: "
                             "per-process cache and Huey on a SQLite file in the temporary directory")
    parser.add_argument("--register", choices=["task", "inline"], default="task",
                        help="task: the request writes the receipt, a worker makes the order (ADR 0010; default); "
                             "inline: the request also makes the order (the cost before receipts)")
    parser.add_argument("--isolate", action=argparse.BooleanOptionalAction, default=os.geteuid() == 0,
                        help="private PostgreSQL cluster and raised session CPU weight (default when root)")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup = 5, 2
        if args.configs == parser.get_default("configs"):
            args.configs = "gthread:2x4"
    client = args.client if args.client != "auto" else ("wrk" if benchlib.have_wrk() else "python")
    benchlib.install_signal_handlers()
    os.environ["SECRET_KEY"] = SECRET_KEY  # the cookies made here must verify in the servers
    # The drain runs report_register in this process: its photos go to the run's temporary directory.
    os.environ["TONGXIN_REPORT_REGISTER"] = args.register
    with benchlib.isolated(args.isolate) as setup:
        benchlib.print_machine({"postgresql": benchlib.pg_version()})
        print(f"set-up: {setup}; load generator: {client}; {args.duration:.0f} s measured after {args.warmup:.0f} s warm-up")
        return run(args, [parse_config(c) for c in args.configs.split(",") if c], client)


def run(args: argparse.Namespace, configs: list[tuple[str, int, int]], client: str) -> int:
    db_name = f"tongxin_bench_residents_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="tongxin-bench-residents-"))
    os.environ["MEDIA_ROOT"] = str(work / "media")  # the drain's attachments (read by the settings at setup)
    os.environ["HUEY_SQLITE_PATH"] = str(work / "huey.sqlite3")
    if args.redis:
        os.environ["REDIS_URL"] = args.redis
    try:
        with benchlib.throwaway_postgres(db_name) as url:
            benchlib.django_setup(database_url=url)
            took = benchlib.migrate_quietly()
            tokens, cookies = make_world(HOUSEHOLDS)
            benchlib.close_django_connections()
            width, _, height = args.photo.partition("x")
            photo = photo_bytes(int(width), int(height))
            (work / "tokens.txt").write_text("\n".join(tokens) + "\n")
            (work / "cookies.txt").write_text("\n".join(cookies) + "\n")
            (work / "body.bin").write_bytes(multipart_body(photo, "小区3号楼门前垃圾堆放多日无人清理，请尽快处理"))
            print(f"database {db_name}: migrated in {took:.1f} s; {HOUSEHOLDS:,} households; photo {len(photo) / 1024:.0f} KB JPEG {args.photo}")
            env = {"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1", "CONN_MAX_AGE": "900",
                   "LOG_LEVEL": "WARNING", "MEDIA_ROOT": str(work / "media"), "DEBUG": "",
                   "TONGXIN_RESIDENT_RATE_REPORT_RESIDENT": "1000000/3600",
                   # every request comes from 127.0.0.1: the per-address door limit stays on (its cost is
                   # measured) with a budget the load cannot reach
                   "TONGXIN_RATE_LIMIT_RESIDENT_REPORT": "100000000/3600", "TONGXIN_REPORT_REGISTER": args.register,
                   "HUEY_SQLITE_PATH": str(work / "huey.sqlite3"), "HUEY_IMMEDIATE": "", "REDIS_URL": args.redis}
            landing = {"method": "GET", "list": str(work / "tokens.txt"), "body": ""}
            report = {"method": "POST", "list": str(work / "cookies.txt"), "body": str(work / "body.bin")}
            best = 0.0
            all_ok = True
            drains: list[float] = []
            for kind, workers, threads in configs:
                connections = args.connections or max(4, 2 * workers * threads)
                with Gunicorn(app="tongxin.wsgi:application", env=env, workers=workers, worker_class=kind,
                              threads=threads) as server:
                    print(f"\n{server.label()}, {connections} connections:")
                    for what, spec in (("landing GET /r/<token>/", landing), ("report POST " + REPORT_PATH, report)):
                        result, app, db, busy, note, ok = measure(server, spec, db_name=db_name, args=args,
                                                                  client=client, connections=connections)
                        n = result.completed or 1
                        lat = result.latencies_ms
                        rate = result.statuses.get(201, 0) / result.duration if spec is report else result.rate
                        if spec is report:
                            best = max(best, rate)
                        all_ok = all_ok and ok
                        print(f"  {what:<38} {rate:7.0f} /s  p50 {lat['p50']:6.1f} ms  p95 {lat['p95']:6.1f} ms  "
                              f"p99 {lat['p99']:6.1f} ms; CPU per request app {app / n * 1000:.2f} ms, "
                              f"PostgreSQL {db / n * 1000:.2f} ms; machine {busy:.0%} busy")
                        print(f"  {'':<38} {'verified' if ok else 'MISMATCH'}: {note}")
                        if not ok:
                            print(server.log_tail(20))
                made, wall, cpu, dbcpu, failures = drain()
                if made or failures:
                    n = max(made, 1)
                    print(f"  {'drain: report_register in-process':<38} {made / wall:7.0f} /s  ({made:,} receipts in "
                          f"{wall:.1f} s); CPU per receipt app {cpu / n * 1000:.2f} ms, PostgreSQL {dbcpu / n * 1000:.2f} ms")
                    drains.append(made / wall)
                counted, text = verify_one_order_each()
                all_ok = all_ok and counted and not failures
                print(f"  {'':<38} {'verified' if counted and not failures else 'MISMATCH'}: {text}"
                      + (f"; not registered: {failures[:5]}" if failures else ""))
            drained = f"; drain {min(drains):.0f}–{max(drains):.0f} receipts/s per consumer thread" if drains else ""
            print(f"\nresult ({args.register}): best {best:.0f} report submissions/s; target ≥ {TARGET:.0f}/s: "
                  f"{'MET' if best >= TARGET else 'MISSED'}{drained}; counts {'verified' if all_ok else 'MISMATCH'}")
            return 0 if best >= TARGET and all_ok else 1
    finally:
        if args.redis:  # the tasks the load enqueued (the drain did their work in-process)
            from huey.contrib.djhuey import HUEY

            HUEY.flush()
            import redis

            client = redis.Redis.from_url(args.redis)  # the rate limits' counters of this run (not the DB)
            keys = list(client.scan_iter(match=":1:tx:rl:*"))
            if keys:
                client.delete(*keys)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
