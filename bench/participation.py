"""码上协商 benchmark: opening a topic over a large electorate, votes per second on one topic with
parallel clients, and the tally with its Art. 278 verdict.

    .venv/bin/python bench/participation.py                 # 5,000 households, 3,000 votes, 8 clients
    .venv/bin/python bench/participation.py --quick         # 1,000 households, 600 votes, 4 clients

Targets (this 2-core machine, PostgreSQL): ≥ 100 votes/s on a single topic, the tally ≤ 50 ms, opening
≤ 5 s. It also prints the CPU per vote (application and PostgreSQL), which a busy machine does not change.

What it does: a throw-away PostgreSQL database, the fixed test world, one building of N households in
grid A (each with one owner, floor areas 60–135 m²), a property-management topic over that building
opened through ``topic_open`` (timed), then ``topic_vote_cast`` from C threads with their own
connections over distinct owners (timed, every answer must be a ballot), then ``topic_results``
(median of 20). The ballots written must equal the successful calls, and the counters must sum to them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib

# A city-wide topic of 100,000 households with 10 % of them voting in its busiest hour is ~3 votes/s:
# 100/s is a 30-fold margin.
VOTES_TARGET = 100.0
TALLY_TARGET_MS = 50.0
OPEN_TARGET_S = 5.0


def make_building(world, households: int):
    from tongxin.residents.models import Building, Household, Resident

    building = Building.objects.create(area=world.community_a, grid=world.grid_a, name="1号楼")
    rng = random.Random(5)
    Household.objects.bulk_create([
        Household(area=world.community_a, grid=world.grid_a, building="1号楼", building_ref=building, unit="1单元",
                  room=str(i), address=f"甲社区1号楼{i}", floor_area=Decimal(rng.randrange(6000, 13500)) / 100)
        for i in range(households)], batch_size=1000)
    Resident.objects.bulk_create([
        Resident(household_id=pk, name="业主", phone=f"139{pk:08d}", is_owner=True)
        for pk in Household.objects.filter(building_ref=building).values_list("pk", flat=True)], batch_size=1000)
    return building


def main() -> int:
    parser = argparse.ArgumentParser(description="码上协商: open, votes per second on one topic, tally.")
    parser.add_argument("--households", type=int, default=5000)
    parser.add_argument("--votes", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="1,000 households, 600 votes, 4 clients")
    args = parser.parse_args()
    if args.quick:
        args.households, args.votes, args.clients = 1000, 600, 4
    args.votes = min(args.votes, args.households)
    benchlib.install_signal_handlers()
    benchlib.print_machine({"postgresql": benchlib.pg_version()})
    with benchlib.throwaway_postgres(f"tongxin_bench_participation_{os.getpid()}") as url:
        benchlib.django_setup(database_url=url)
        benchlib.migrate_quietly()
        return run(args)


def run(args: argparse.Namespace) -> int:
    import datetime as dt

    from django.db import connections
    from django.utils import timezone

    from tongxin.participation import selectors, services
    from tongxin.participation.models import Option, Participation
    from tongxin.residents.models import Resident
    from tongxin.testing import build_world

    world = build_world()
    building = make_building(world, args.households)
    now = timezone.now()
    draft = services.topic_create(actor=world.user("grid_worker"), data=services.TopicInput(
        title="续聘物业服务企业", body="bench", kind="property", matter="item4", scope_kind="building",
        building_id=building.pk, eligibility="owner", opens_at=now - dt.timedelta(minutes=1),
        closes_at=now + dt.timedelta(days=1)))
    began = time.perf_counter()
    topic = services.topic_open(actor=world.user("grid_worker"), topic_id=draft.pk)
    open_s = time.perf_counter() - began
    options = list(topic.options.values_list("pk", flat=True))
    voters = list(Resident.objects.filter(household__building_ref=building).order_by("pk")
                  .values_list("pk", flat=True)[:args.votes])
    chunks = [voters[i::args.clients] for i in range(args.clients)]
    ok = [0] * args.clients
    errors: list[BaseException] = []
    ready, go = threading.Barrier(args.clients + 1), threading.Barrier(args.clients + 1)

    def client(index: int) -> None:
        rng = random.Random(index)
        try:
            from django.db import connection

            connection.ensure_connection()  # connected before the clock starts (and counted in the CPU)
            ready.wait()
            go.wait()
            for pk in chunks[index]:
                resident = Resident.objects.get(pk=pk)
                services.topic_vote_cast(topic_id=topic.pk, resident=resident,
                                         option_ids=[rng.choices(options, weights=[6, 3, 1])[0]])
                ok[index] += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    ready.wait()
    pg_pids = benchlib.pg_backend_pids(connections["default"].settings_dict["NAME"])
    pg_cpu0 = benchlib.cpu_seconds(pg_pids)
    go.wait()
    began, cpu0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    vote_s, app_cpu = time.perf_counter() - began, time.process_time() - cpu0
    pg_cpu = benchlib.cpu_seconds(pg_pids) - pg_cpu0
    cast = sum(ok)
    stored = Participation.objects.filter(topic=topic).count()
    counted = sum(Option.objects.filter(topic=topic).values_list("ballots", flat=True))
    samples = []
    for _ in range(20):
        began = time.perf_counter()
        results = selectors.topic_results(topic=topic)
        samples.append((time.perf_counter() - began) * 1000)
    tally_ms = statistics.median(samples)
    rate = cast / vote_s if vote_s else 0.0
    consistent = not errors and cast == stored == counted == args.votes
    print(f"electorate: {args.households} households; open (freeze electorate): {open_s:.2f} s (target ≤ {OPEN_TARGET_S:.0f} s)")
    print(f"votes: {cast} by {args.clients} clients in {vote_s:.2f} s = {rate:.0f} votes/s (target ≥ {VOTES_TARGET:.0f}/s)")
    if cast:
        print(f"CPU per vote: application {app_cpu / cast * 1000:.1f} ms, PostgreSQL backends ≥ {pg_cpu / cast * 1000:.1f} ms "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: a busy machine lowers the rate, not the CPU cost)")
    print(f"ballots stored {stored}, counters {counted}, errors {len(errors)}: {'consistent' if consistent else 'MISMATCH'}")
    print(f"tally with verdict: median {tally_ms:.1f} ms of 20 (target ≤ {TALLY_TARGET_MS:.0f} ms); "
          f"turnout {results.turnout}; {results.verdict.summary if results.verdict else ''}")
    met = rate >= VOTES_TARGET and tally_ms <= TALLY_TARGET_MS and open_s <= OPEN_TARGET_S and consistent
    print(f"\nresult: {'MET' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
