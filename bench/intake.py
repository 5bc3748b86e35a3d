"""Intake benchmark: work orders created per second through ``POST /api/v1/work-orders``.

    .venv/bin/python bench/intake.py                 # the full run (about 4 minutes)
    .venv/bin/python bench/intake.py --quick         # 5-second runs, two server set-ups (about 1 minute)
    .venv/bin/python bench/intake.py --configs sync:3,gthread:2x8 --duration 30

Target: ≥ 500 orders/s against PostgreSQL with gunicorn on this 2-core machine.

What it does: creates a throw-away PostgreSQL database (tongxin_bench_intake_<pid>), migrates it,
builds the fixed test world (tongxin.testing.build_world: a city, two districts, towns, a community
and a grid with boundaries, four departments, categories), creates an API token for the city's
operator, and writes 40,000 varied request bodies (channels, kinds, urgencies, categories, locations
spread over the world's areas so the point → area lookup walks different depths, phones from a pool
of 3,000 so the repeat-request check finds earlier orders). Then, for each server set-up, it starts
gunicorn on a free loopback port, warms up, drives load from a separate process (wrk with a Lua
script if installed, else a Python http.client keep-alive client) for a fixed time, and checks that
the orders written equal the 201 answers. It also measures two baselines with the same harness (a
plain Django JSON view and a Ninja endpoint with token auth, see bench/benchwsgi.py), and profiles
one intake request in-process (cProfile over the service and over the whole API request, query
count, time waiting on PostgreSQL). The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
from benchlib import Gunicorn, LoadResult

TARGET = 500.0
BODIES = 40_000
PHONES = 3_000
INTAKE_PATH = "/api/v1/work-orders"

# --- request bodies ---------------------------------------------------------------------------

PLACES = ["幸福小区", "康巴什新区", "东胜区天骄路", "阳光花园", "锦绣苑", "滨河路", "铁西社区", "北区菜市场",
          "实验小学门口", "人民医院对面", "奥林花园", "万正广场", "伊金霍洛街道", "达拉特旗树林召镇"]
PROBLEMS = ["垃圾长期无人清理，气味很大", "路灯不亮已经一周", "楼道内堆放杂物存在消防隐患", "下水道堵塞污水外溢",
            "夜间施工噪音扰民", "小区供暖温度不达标", "占道经营影响通行", "自来水水压不足", "公交站牌损坏",
            "流浪犬较多影响居民出行", "井盖缺失存在安全隐患", "物业乱收费", "违章搭建", "学校周边交通拥堵"]
ASKS = ["请相关部门尽快处理。", "希望尽快解决。", "已经反映多次，请给予答复。", "请核实后回复。", "谢谢！"]
KINDS = [("complaint", 40), ("help", 20), ("report", 12), ("inquiry", 15), ("suggestion", 10), ("praise", 3)]
CHANNELS = [("hotline", 70), ("app", 12), ("web", 8), ("qr", 5), ("walk_in", 5)]
URGENCIES = [("normal", 90), ("urgent", 8), ("critical", 2)]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"


def _weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


@dataclass
class WorldFacts:
    category_codes: list[str]
    boxes: list[tuple[float, float, float, float, float]]  # (min_lng, min_lat, max_lng, max_lat, weight)


def make_bodies(facts: WorldFacts, n: int, seed: int) -> list[dict[str, Any]]:
    """Varied, valid intake bodies. Locations: uniform over the city, or inside a smaller area (town,
    community, grid), so the point lookup returns areas at every depth."""
    rng = random.Random(seed)
    phones = [f"13{rng.randrange(10**9):09d}" for _ in range(PHONES)]
    bodies = []
    for i in range(n):
        box = rng.choices(facts.boxes, weights=[b[4] for b in facts.boxes])[0]
        lng = round(rng.uniform(box[0], box[2]), 6)
        lat = round(rng.uniform(box[1], box[3]), 6)
        place = rng.choice(PLACES)
        content = (f"{place}{rng.randint(1, 30)}号楼附近{rng.choice(PROBLEMS)}，"
                   f"{rng.choice(ASKS)}（编号{i}）")
        body: dict[str, Any] = {
            "channel": _weighted(rng, CHANNELS),
            "kind": _weighted(rng, KINDS),
            "urgency": _weighted(rng, URGENCIES),
            "content": content,
            "lat": lat,
            "lng": lng,
            "address": f"{place}{rng.randint(1, 30)}号楼",
        }
        if rng.random() < 0.9:
            body["category_code"] = rng.choice(facts.category_codes)
        if rng.random() < 0.93:
            body["citizen_name"] = rng.choice(SURNAMES) + rng.choice(["先生", "女士"])
            body["citizen_phone"] = rng.choice(phones)
        else:
            body["anonymous"] = True
        bodies.append(body)
    return bodies


def make_world(kind: str) -> Any:
    """Build the world and return the operator who records the requests (city-wide intake role)."""
    from tongxin.accounts.models import User

    if kind == "demo":
        from tongxin.demo.seed import demo_seed

        demo_seed(orders=0)  # the Ordos areas with their real boundaries, departments, categories, staff
        return User.objects.get(username="operator")
    from tongxin.testing import build_world

    return build_world().user("operator")


def world_facts() -> WorldFacts:
    from tongxin.regions.models import Area
    from tongxin.workorders.models import Category

    codes = list(Category.objects.filter(active=True).values_list("code", flat=True))
    # Three points in ten anywhere in the city's box, the rest inside the box of one of the smaller areas
    # (district, town, community, grid), so the point lookup ends at every depth of the tree.
    areas = list(Area.objects.exclude(min_lng__isnull=True).order_by("depth", "id"))
    boxes = [(a.min_lng, a.min_lat, a.max_lng, a.max_lat, 1.0) for a in areas[1:]]
    if areas:
        root = areas[0]
        boxes.append((root.min_lng, root.min_lat, root.max_lng, root.max_lat, max(1.0, len(boxes) * 3 / 7)))
    return WorldFacts(category_codes=codes, boxes=boxes)


# --- load: the two clients read the same bodies -------------------------------------------------

_bodies_cache: dict[str, list[bytes]] = {}


def python_request(arg: tuple[random.Random, dict[str, str]]) -> tuple[str, str, bytes | None, dict[str, str]]:
    """Request factory of the Python client (runs in the client processes)."""
    rng, spec = arg
    bodies = _bodies_cache.get(spec["bodies"])
    if bodies is None:
        bodies = _bodies_cache[spec["bodies"]] = Path(spec["bodies"]).read_bytes().splitlines()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {spec['token']}"}
    if spec["method"] == "GET":
        return "GET", spec["path"], None, {}
    return "POST", spec["path"], rng.choice(bodies), headers


WRK_LUA = r"""
local bodies_file, token, method, path = "%(bodies)s", "%(token)s", "%(method)s", "%(path)s"
local bodies = {}
function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
  if method == "POST" then
    for line in io.lines(bodies_file) do bodies[#bodies + 1] = line end
  end
end
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
request = function()
  if method == "GET" then return wrk.format("GET", path) end
  return wrk.format("POST", path, headers, bodies[math.random(#bodies)])
end
"""


def drive(port: int, spec: dict[str, str], *, duration: float, connections: int, client: str) -> LoadResult:
    if client == "wrk":
        return benchlib.run_wrk(port=port, lua=WRK_LUA % spec, duration=duration, connections=connections,
                                threads=1, path=spec["path"])
    processes = 2
    threads = max(1, connections // processes)
    return benchlib.run_python_client(port=port, module="intake", factory="python_request", factory_arg=spec,
                                      duration=duration, processes=processes, threads=threads)


# --- the database side ------------------------------------------------------------------------------

def order_count() -> int:
    from tongxin.workorders.models import WorkOrder

    return WorkOrder.objects.count()


def settled_count(timeout: float = 15.0) -> int:
    """The order count once the server has finished the requests still in flight."""
    last, stable_since = order_count(), time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = order_count()
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 1.0:
            break
    return last


@dataclass
class RunReport:
    label: str
    result: LoadResult
    created: int  # orders written during the measured run
    server_cpu: float  # gunicorn master + workers, CPU seconds
    db_cpu: float  # the benchmark database's PostgreSQL backends
    machine_busy: float  # all CPUs, busy seconds (includes other users of the machine)
    wall: float
    verified: bool
    note: str
    background: float = 0.0  # share of the machine busy with other work just before the run

    @property
    def created_rate(self) -> float:
        return self.result.statuses.get(201, 0) / self.result.duration if self.result.duration else 0.0


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    return {pid: benchlib.cpu_seconds([pid]) for pid in pids}


def measured_run(server: Gunicorn, spec: dict[str, str], *, db_name: str | None, warmup: float, duration: float,
                 connections: int, client: str, writes: bool, wait_quiet: float = 0) -> RunReport:
    background = benchlib.wait_for_quiet(wait_quiet) if wait_quiet > 0 else benchlib.busy_fraction(1.0)
    if warmup > 0:
        drive(server.port, spec, duration=warmup, connections=connections, client=client)
    before = settled_count() if writes else 0
    db_cpu0 = cpu_by_pid(benchlib.pg_backend_pids(db_name)) if db_name else {}
    server_pids = server.all_pids()
    cpu_server0 = benchlib.cpu_seconds(server_pids)
    busy0, _ = benchlib.machine_busy()
    began = time.monotonic()
    result = drive(server.port, spec, duration=duration, connections=connections, client=client)
    wall = time.monotonic() - began
    busy1, _ = benchlib.machine_busy()
    cpu_server = benchlib.cpu_seconds(server_pids) - cpu_server0
    # Backends opened during the run (a new thread's connection) count from zero.
    db_cpu1 = cpu_by_pid(benchlib.pg_backend_pids(db_name)) if db_name else {}
    cpu_db = sum(v - db_cpu0.get(pid, 0.0) for pid, v in db_cpu1.items())
    created = (settled_count() - before) if writes else 0
    ok201 = result.statuses.get(201, 0)
    if not writes:
        verified, note = True, ""
    elif result.tool.startswith("wrk"):
        # wrk stops at the deadline without reading the answers still in flight; the server finishes
        # those requests, so the rows are the 201s counted plus at most the requests in flight.
        extra = created - ok201
        verified = 0 <= extra <= result.in_flight + result.errors
        note = (f"orders written {created:,} = 201 answers {ok201:,} + {extra} finished after wrk stopped "
                f"({result.in_flight} requests were in flight)")
    else:
        verified = created == ok201
        note = f"orders written {created:,}, 201 answers {ok201:,}"
    return RunReport(label=server.label(), result=result, created=created, server_cpu=cpu_server, db_cpu=cpu_db,
                     machine_busy=busy1 - busy0, wall=wall, verified=verified, note=note, background=background)


def print_run(r: RunReport, what: str) -> None:
    res = r.result
    lat = res.latencies_ms
    rate = r.created_rate if what == "intake" else res.rate
    print(f"  {r.label:<16} {res.tool:<26} {rate:8.0f} /s   p50 {lat['p50']:6.1f} ms  p95 {lat['p95']:6.1f} ms  "
          f"p99 {lat['p99']:6.1f} ms  max {lat['max']:6.0f} ms   answers {res.status_text()}; socket errors {res.errors}")
    n = res.completed or 1
    cores = os.cpu_count() or 1
    others = max(0.0, r.machine_busy - r.server_cpu - r.db_cpu - res.client_cpu)
    print(f"  {'':<16} CPU per request: app {r.server_cpu / n * 1000:.2f} ms, PostgreSQL {r.db_cpu / n * 1000:.2f} ms, "
          f"load generator {res.client_cpu / n * 1000:.2f} ms; machine {r.machine_busy / r.wall / cores:.0%} busy "
          f"({others / r.wall / cores:.0%} other processes; {r.background:.0%} before the run)")
    if r.note:
        print(f"  {'':<16} {'verified' if r.verified else 'MISMATCH'}: {r.note}")


# --- profile ------------------------------------------------------------------------------------

LAYERS = [
    ("psycopg: driver + waiting for PostgreSQL", ("psycopg", "select.", "_socket", "psycopg_binary")),
    ("ORM: query building and SQL compilation", ("django/db/models/sql", "django/db/models/expressions",
                                                 "django/db/models/lookups", "django/db/models/query_utils")),
    ("ORM: querysets, models, fields", ("django/db/models", "django/db/backends", "django/db/utils",
                                        "django/db/transaction")),
    ("Ninja + pydantic (parsing, validation, rendering)", ("ninja/", "pydantic", "json/")),
    ("Django request/response and middleware", ("django/core", "django/middleware", "django/contrib",
                                                "django/http", "django/utils", "django/test", "django/urls",
                                                "django/conf", "django/dispatch")),
    ("shapely (point → area)", ("shapely",)),
    ("tongxin code", ("tongxin/",)),
]


def layer_of(filename: str) -> str:
    for name, needles in LAYERS:
        if any(n in filename for n in needles):
            return name
    if filename.startswith("~") or filename == "<built-in>":
        return "builtins"
    return "other (stdlib etc.)"


def summarise_profile(profiler: cProfile.Profile, calls: int, top: int = 18) -> str:
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    by_layer: dict[str, float] = defaultdict(float)
    for (filename, _line, _func), (_cc, _nc, tt, _ct, _callers) in raw.items():
        by_layer[layer_of(filename)] += tt
    out = io.StringIO()
    out.write(f"    self time by layer (profiled, {calls} calls, {total / calls * 1000:.2f} ms per call under cProfile):\n")
    for name, tt in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        out.write(f"      {tt / total:6.1%}  {name}\n")
    out.write(f"    top {top} functions by cumulative time (ms per call):\n")
    rows = sorted(raw.items(), key=lambda kv: -kv[1][3])
    shown = 0
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in rows:
        if func in {"<module>", "exec"} or "cProfile" in filename:
            continue
        short = filename.split("site-packages/")[-1].replace(str(benchlib.ROOT) + "/", "")
        out.write(f"      {ct / calls * 1000:7.3f} cum {tt / calls * 1000:7.3f} self {nc / calls:6.1f}×  {short}:{line} {func}\n")
        shown += 1
        if shown >= top:
            break
    return out.getvalue()


def profile_intake(token: str, bodies: list[dict[str, Any]], n: int, operator_id: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tongxin.accounts.models import User
    from tongxin.workorders.services import work_order_create

    print(f"\nprofile of one intake (in-process, {n} calls each, same database):")
    actor = User.objects.get(pk=operator_id)
    service_keys = {"channel", "kind", "content", "title", "urgency", "category_code", "lat", "lng", "crs", "address",
                    "area_code", "citizen_name", "citizen_phone", "anonymous", "external_id", "note"}

    def service_call(body: dict[str, Any]) -> None:
        actor.__dict__.pop("_tongxin_scope", None)  # a fresh request resolves the actor's scope again
        work_order_create(actor=actor, **{k: v for k, v in body.items() if k in service_keys})

    db_time = [0.0]

    def timer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db_time[0] += time.perf_counter() - began

    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def api_call(body: dict[str, Any]) -> None:
        response = client.post(INTAKE_PATH, data=json.dumps(body), content_type="application/json", **auth)
        if response.status_code != 201:
            raise RuntimeError(f"intake answered {response.status_code}: {response.content[:300]!r}")

    for label, call in (("service work_order_create()", service_call), ("API POST /api/v1/work-orders", api_call)):
        for body in bodies[:20]:  # warm caches (locator, SLA table, URL resolver)
            call(body)
        sample = bodies[20:20 + n]
        db_time[0] = 0.0
        with connection.execute_wrapper(timer):
            began = time.perf_counter()
            for body in sample:
                call(body)
            wall = time.perf_counter() - began
        with CaptureQueriesContext(connection) as queries:
            call(sample[0])
        print(f"  {label}: {wall / len(sample) * 1000:.2f} ms per call unprofiled "
              f"(≈ {len(sample) / wall:.0f}/s on one core), of which {db_time[0] / len(sample) * 1000:.2f} ms "
              f"waiting on PostgreSQL; {len(queries.captured_queries)} SQL statements:")
        for q in queries.captured_queries:
            sql = " ".join(q["sql"].split())
            print(f"      {sql[:150]}{'…' if len(sql) > 150 else ''}")
        profiler = cProfile.Profile()
        profiler.enable()
        for body in sample:
            call(body)
        profiler.disable()
        print(summarise_profile(profiler, len(sample)))


def probe_intake(port: int, token: str, body: dict[str, Any]) -> tuple[int, bytes]:
    import http.client

    conn = http.client.HTTPConnection(benchlib.HOST, port, timeout=10)
    conn.request("POST", INTAKE_PATH, body=json.dumps(body).encode(),
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    answer = resp.read()
    conn.close()
    return resp.status, answer


def drop_indexes(names: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for name in names:
            if not name.replace("_", "").isalnum():
                raise SystemExit(f"--drop-indexes: bad index name {name!r}")
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    print(f"what-if: dropped indexes {', '.join(names)}")


def drop_foreign_keys(columns: list[str]) -> None:
    """What-if: drop the database-level foreign-key constraints of these ``table.column`` pairs."""
    from django.db import connection

    with connection.cursor() as cursor:
        for item in columns:
            table, _, column = item.partition(".")
            cursor.execute(
                "SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
                "AND a.attnum = ANY (c.conkey) WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND a.attname = %s",
                [table, column])
            for (name,) in cursor.fetchall():
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    print(f"what-if: dropped the foreign-key constraints of {', '.join(columns)}")


def connections_for(args: argparse.Namespace, config: tuple[str, int, int]) -> int:
    return int(args.connections or max(4, 2 * config[1] * config[2]))


# --- main ---------------------------------------------------------------------------------------------

def parse_config(text: str) -> tuple[str, int, int]:
    """``sync:3`` → (sync, 3 workers, 1 thread); ``gthread:2x4`` → (gthread, 2 workers, 4 threads)."""
    kind, _, rest = text.partition(":")
    if kind not in {"sync", "gthread"}:
        raise argparse.ArgumentTypeError(f"worker class {kind!r}: use sync or gthread")
    workers, _, threads = rest.partition("x")
    return kind, int(workers or 2), int(threads or (4 if kind == "gthread" else 1))


def main() -> int:
    parser = argparse.ArgumentParser(description="Work orders created per second through the HTTP API.")
    # gthread keeps connections alive (sync closes each one: a TCP set-up and tear-down per order, about
    # 0.8 ms of machine time here). An order costs ~2.5 ms of application CPU but waits for PostgreSQL's
    # commit (fsync: 1-3 ms on a quiet disk, 10-15 ms when other work writes): enough threads in flight
    # let commits share an fsync and keep both cores busy.
    parser.add_argument("--configs", default="sync:2,sync:8,gthread:3x1,gthread:2x4,gthread:2x8,gthread:4x4",
                        help="gunicorn set-ups to try: sync:WORKERS or gthread:WORKERSxTHREADS")
    parser.add_argument("--duration", type=float, default=20, help="seconds measured per set-up (default 20)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per set-up (default 3)")
    parser.add_argument("--connections", type=int, default=0,
                        help="concurrent connections (default: 2 per worker thread, at least 4)")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--conn-max-age", default="60", help="CONN_MAX_AGE for the servers (default 60)")
    parser.add_argument("--profile-calls", type=int, default=500, help="calls per profile (0: no profile)")
    parser.add_argument("--no-baselines", action="store_true", help="skip the bare-view and Ninja baselines")
    parser.add_argument("--quick", action="store_true", help="5-second runs of sync:2 and gthread:2x8, 200 calls profiled")
    parser.add_argument("--isolate", action=argparse.BooleanOptionalAction, default=os.geteuid() == 0,
                        help="run a private PostgreSQL cluster inside the benchmark's session and raise the "
                             "session's CPU weight, so that other work on the shared machine gets little CPU "
                             "(default: on when run as root; --no-isolate uses the shared server as it is)")
    parser.add_argument("--wait-quiet", type=float, default=None,
                        help="before each run wait up to this many seconds for other work on the machine to stop "
                             "(default: 0 with --isolate, else 180)")
    parser.add_argument("--world", choices=["test", "demo"], default="test",
                        help="test: tongxin.testing.build_world (7 square areas); demo: the Ordos demo seed without "
                             "history (real district boundaries, 88 towns, generated communities and grids)")
    parser.add_argument("--db-query", default="",
                        help="what-if: query string added to the servers' DATABASE_URL (dj-database-url turns it "
                             "into OPTIONS), e.g. 'server_side_binding=true&prepare_threshold=2' or "
                             "'options=-c synchronous_commit=off'")
    parser.add_argument("--drop-indexes", default="",
                        help="what-if: comma-separated indexes to drop after migrating (e.g. redundant ones)")
    parser.add_argument("--drop-fks", default="",
                        help="what-if: comma-separated table.column foreign keys whose constraints to drop "
                             "(e.g. workorders_workorder.category_id)")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    args = parser.parse_args()
    if args.wait_quiet is None:
        args.wait_quiet = 0 if args.isolate else 180
    if args.quick:
        args.duration, args.warmup, args.profile_calls = 5, 2, 200
        if args.configs == parser.get_default("configs"):
            args.configs = "sync:2,gthread:2x8"
    configs = [parse_config(c) for c in args.configs.split(",") if c]
    client = args.client if args.client != "auto" else ("wrk" if benchlib.have_wrk() else "python")
    benchlib.install_signal_handlers()
    if args.keep and args.isolate:
        parser.error("--keep needs --no-isolate (the private PostgreSQL cluster is deleted at the end)")
    with benchlib.isolated(args.isolate) as setup:
        benchlib.print_machine({"postgresql": benchlib.pg_version()})
        print(f"set-up: {setup}")
        print(f"target: ≥ {TARGET:.0f} work orders/s; load generator: {client}; {args.duration:.0f} s measured after "
              f"{args.warmup:.0f} s warm-up per set-up; CONN_MAX_AGE={args.conn_max_age}"
              + (f"; what-if database options {args.db_query!r}" if args.db_query else ""))
        return run(args, configs, client)


def run(args: argparse.Namespace, configs: list[tuple[str, int, int]], client: str) -> int:
    db_name = f"tongxin_bench_intake_{os.getpid()}"
    bodies_path = Path(tempfile.mkstemp(prefix="tongxin-bench-bodies-", suffix=".jsonl")[1])
    try:
        with benchlib.throwaway_postgres(db_name, keep=args.keep) as url:
            benchlib.django_setup(database_url=url)
            took = benchlib.migrate_quietly()
            from tongxin.accounts.services import api_token_create

            if args.drop_indexes:
                drop_indexes([i for i in args.drop_indexes.split(",") if i])
            if args.drop_fks:
                drop_foreign_keys([c for c in args.drop_fks.split(",") if c])
            operator = make_world(args.world)
            _token, plain = api_token_create(user=operator, name="bench")
            facts = world_facts()
            bodies = make_bodies(facts, BODIES, seed=20261123)
            bodies_path.write_text("\n".join(json.dumps(b, ensure_ascii=False) for b in bodies) + "\n")
            print(f"database {db_name}: migrated in {took:.1f} s; {args.world} world: {len(facts.category_codes)} categories, "
                  f"{len(facts.boxes)} areas with boundaries; {BODIES:,} request bodies, {PHONES:,} phones")
            benchlib.close_django_connections()

            server_url = url + ("?" + urllib.parse.urlencode(urllib.parse.parse_qsl(args.db_query)) if args.db_query else "")
            env = {"DATABASE_URL": server_url, "SECRET_KEY": "bench-" + "x" * 60, "ALLOWED_HOSTS": "127.0.0.1",
                   "CONN_MAX_AGE": args.conn_max_age, "LOG_LEVEL": "WARNING"}
            spec = {"bodies": str(bodies_path), "token": plain, "method": "POST", "path": INTAKE_PATH}

            # Does the endpoint exist and accept our bodies?
            with Gunicorn(app="tongxin.wsgi:application", env=env, workers=1) as probe:
                status, answer = probe_intake(probe.port, plain, bodies[0])
            endpoint_ok = status == 201
            if not endpoint_ok:
                print(f"\nPOST {INTAKE_PATH} answered {status}: {answer[:400]!r}")
                print("the intake endpoint is missing or refuses the benchmark's body: intake not measured")

            results: list[tuple[tuple[str, int, int], RunReport]] = []
            if endpoint_ok:
                print("\nintake, POST /api/v1/work-orders (orders created per second = 201 answers / measured time):")
                for config in configs:
                    kind, workers, threads = config
                    with Gunicorn(app="tongxin.wsgi:application", env=env, workers=workers, worker_class=kind,
                                  threads=threads) as server:
                        report = measured_run(server, spec, db_name=db_name, warmup=args.warmup,
                                              duration=args.duration, connections=connections_for(args, config),
                                              client=client, writes=True, wait_quiet=args.wait_quiet)
                    results.append((config, report))
                    print_run(report, "intake")
            best_config, best = max(results, key=lambda cr: cr[1].created_rate) if results else (configs[0], None)

            if not args.no_baselines:
                kind, workers, threads = best_config
                label = Gunicorn(app="", env={}, workers=workers, worker_class=kind, threads=threads).label()
                print(f"\nbaselines with the same harness and set-up ({label}), served by bench/benchwsgi.py:")
                with Gunicorn(app="benchwsgi:application", env=env, workers=workers, worker_class=kind,
                              threads=threads) as server:
                    for what, base_spec in (
                        ("GET /bench/ping (plain Django view returning JSON)", {**spec, "method": "GET", "path": "/bench/ping"}),
                        ("POST /bench/api/echo (Ninja + token auth + intake-shaped schema, no write)",
                         {**spec, "path": "/bench/api/echo"}),
                    ):
                        print(f"  {what}:")
                        report = measured_run(server, base_spec, db_name=db_name, warmup=args.warmup,
                                              duration=args.duration, connections=connections_for(args, best_config),
                                              client=client, writes=False, wait_quiet=args.wait_quiet)
                        print_run(report, "baseline")

            if best is None:
                return 2
            if args.profile_calls:
                profile_intake(plain, bodies, args.profile_calls, operator.pk)

            verified = all(r.verified for _c, r in results)
            print(f"\nresult: best {best.created_rate:.0f} work orders/s ({best.label}); target ≥ {TARGET:.0f}/s: "
                  f"{'MET' if best.created_rate >= TARGET else 'MISSED'}; counts {'verified' if verified else 'MISMATCH'}")
            return 0 if best.created_rate >= TARGET and verified else 1
    finally:
        bodies_path.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
