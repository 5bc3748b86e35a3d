"""One ballot per voter under real parallel clients on PostgreSQL: threads, each with its own database
connection, released together by a barrier. Skipped on SQLite (set DATABASE_URL to a PostgreSQL server)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from tongxin.core.errors import Conflict
from tongxin.core.models import AuditEvent
from tongxin.participation import services
from tongxin.participation.choices import Event
from tongxin.participation.models import Elector, Option, Participation, ParticipationChoice
from tongxin.residents.models import Resident
from tongxin.testing import run_together

from .conftest import make_estate, open_topic, option_id, topic_input

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL; set DATABASE_URL"),
    pytest.mark.django_db(transaction=True),
]

CLIENTS = 12


def _resident(pk: int) -> Resident:
    return Resident.objects.get(pk=pk)  # a fresh object per thread


def test_many_simultaneous_votes_of_one_voter_make_one_ballot(world):
    estate = make_estate(world)
    topic = open_topic(world, topic_input(world, secret=True))
    ids = list(topic.options.values_list("id", flat=True))
    voter = estate.owners[0].pk
    results = run_together([lambda i=i: services.topic_vote_cast(topic_id=topic.pk, resident=_resident(voter),
                                                                 option_ids=[ids[i % len(ids)]])
                            for i in range(CLIENTS)])
    kinds = [k for k, _v in results]
    assert kinds.count("ok") == 1, results
    errors = [v for k, v in results if k == "error"]
    assert all(isinstance(e, Conflict) and e.code == "vote_already_cast" for e in errors), errors
    assert Participation.objects.filter(topic=topic).count() == 1
    assert sum(Option.objects.filter(topic=topic).values_list("ballots", flat=True)) == 1
    assert AuditEvent.objects.filter(event_type=Event.VOTE_CAST, object_id=str(topic.pk)).count() == 1


def test_members_of_one_household_at_once_make_one_ballot(world):
    estate = make_estate(world)
    topic = open_topic(world, topic_input(world))
    first = option_id(topic, "方案一：地面划线")
    people = [estate.owners[0].pk, estate.tenant.pk] * (CLIENTS // 2)
    results = run_together([lambda pk=pk: services.topic_vote_cast(topic_id=topic.pk, resident=_resident(pk),
                                                                   option_ids=[first]) for pk in people])
    assert [k for k, _v in results].count("ok") == 1, results
    assert Participation.objects.filter(topic=topic).count() == 1
    assert Option.objects.get(pk=first).ballots == 1
    assert ParticipationChoice.objects.filter(participation__topic=topic).count() == 1


def test_simultaneous_changes_keep_one_ballot_and_exact_counters(world):
    estate = make_estate(world)
    topic = open_topic(world, topic_input(world, allow_change=True))
    ids = list(topic.options.values_list("id", flat=True))
    voter = estate.owners[0].pk
    results = run_together([lambda i=i: services.topic_vote_cast(topic_id=topic.pk, resident=_resident(voter),
                                                                 option_ids=[ids[i % len(ids)]])
                            for i in range(CLIENTS)])
    assert all(k == "ok" for k, _v in results), results
    participation = Participation.objects.get(topic=topic)
    assert participation.changes == CLIENTS - 1
    chosen = list(ParticipationChoice.objects.filter(participation=participation).values_list("option_id", flat=True))
    assert len(chosen) == 1
    counters = dict(Option.objects.filter(topic=topic).values_list("id", "ballots"))
    assert counters == {pk: (1 if pk == chosen[0] else 0) for pk in ids}


def test_different_voters_at_once_are_all_counted(world):
    estate = make_estate(world)
    topic = open_topic(world, topic_input(world))
    first = option_id(topic, "维持现状")
    voters = [r.pk for r in [*estate.owners, estate.other_owner]]
    results = run_together([lambda pk=pk: services.topic_vote_cast(topic_id=topic.pk, resident=_resident(pk),
                                                                   option_ids=[first]) for pk in voters])
    assert all(k == "ok" for k, _v in results), results
    assert Option.objects.get(pk=first).ballots == len(voters) == Participation.objects.filter(topic=topic).count()


def test_the_constraint_alone_refuses_parallel_duplicates(world):
    """Without the service (no topic lock): the unique elector lets exactly one insert commit."""
    estate = make_estate(world)
    topic = open_topic(world, topic_input(world))
    elector = Elector.objects.filter(topic=topic).first()

    def insert() -> int:
        return Participation.objects.create(topic_id=topic.pk, elector_id=elector.pk, resident_id=estate.owners[0].pk).pk

    results = run_together([insert for _ in range(CLIENTS)])
    assert [k for k, _v in results].count("ok") == 1, results
    assert all(isinstance(v, IntegrityError) for k, v in results if k == "error")
    assert Participation.objects.filter(elector=elector).count() == 1


def test_a_close_during_voting_leaves_no_vote_after_it(world):
    estate = make_estate(world)
    topic = open_topic(world, topic_input(world))
    first = option_id(topic, "维持现状")
    voters = [r.pk for r in [*estate.owners, estate.other_owner]]
    calls = [lambda pk=pk: services.topic_vote_cast(topic_id=topic.pk, resident=_resident(pk), option_ids=[first])
             for pk in voters]
    calls.insert(2, lambda: services.topic_close(actor=world.user("grid_worker"), topic_id=topic.pk))
    results = run_together(calls)
    errors = [v for k, v in results if k == "error"]
    assert all(isinstance(e, Conflict) and e.code == "vote_closed" for e in errors), errors
    topic.refresh_from_db()
    cast = list(Participation.objects.filter(topic=topic).values_list("cast_at", flat=True))
    assert all(at <= topic.closed_at for at in cast)
    assert len(cast) == len(voters) - len(errors) == Option.objects.get(pk=first).ballots
