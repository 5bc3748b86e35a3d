"""Property tests of the ledger: any sequence of earn / spend / reverse / redeem / cancel (with replays)
keeps every balance equal to the sum of its entries, never negative, and a replayed cause changes nothing."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongxin.core.errors import ApplicationError
from tongxin.points import services
from tongxin.points.models import Account, Entry, Item, Redemption
from tongxin.points.selectors import ledger_verify

pytestmark = pytest.mark.django_db

_counter = itertools.count()

steps = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.sampled_from(["vote_cast", "report_confirmed", "uncivil_act"]),
                  st.integers(0, 5)),
        st.tuples(st.just("replay"), st.sampled_from(["vote_cast", "report_confirmed"]), st.integers(0, 5)),
        st.tuples(st.just("reverse"), st.integers(0, 30)),
        st.tuples(st.just("redeem"), st.integers(0, 1)),
        st.tuples(st.just("cancel"), st.integers(0, 10)),
    ),
    max_size=25,
)


class Rollback(Exception):
    pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_ledger_invariants(town, sequence):
    run = next(_counter)
    try:
        with transaction.atomic():  # each example rolls back: examples do not see each other
            _play(town, run, sequence)
            raise Rollback
    except Rollback:
        pass


def _play(town, run, sequence):
    staff = town.world.user("grid_worker")
    items = [services.item_create(actor=town.supervisor_a, area=town.world.community_a, name=f"物品{i}", price=p, stock=2)
             for i, p in enumerate((5, 12))]
    resident = town.resident
    for step in sequence:
        before = (list(Account.objects.order_by("pk").values_list("pk", "balance")), Entry.objects.count())
        try:
            with transaction.atomic():
                if step[0] in ("earn", "replay"):
                    _kind, rule, n = step
                    services.points_earn(resident=resident, rule_code=rule, cause_key=f"{run}:{n}")
                    if step[0] == "replay":
                        mid = (list(Account.objects.order_by("pk").values_list("pk", "balance")), Entry.objects.count())
                        services.points_earn(resident=resident, rule_code=rule, cause_key=f"{run}:{n}")
                        after = (list(Account.objects.order_by("pk").values_list("pk", "balance")), Entry.objects.count())
                        assert after == mid, "a replayed cause changed the ledger"
                elif step[0] == "reverse":
                    entries = list(Entry.objects.order_by("pk"))
                    if entries:
                        services.entry_reverse(entry=entries[step[1] % len(entries)], actor=staff, reason="纠错")
                elif step[0] == "redeem":
                    services.redemption_create(resident=resident, item_id=items[step[1]].pk)
                else:
                    redemptions = list(Redemption.objects.order_by("pk"))
                    if redemptions:
                        services.redemption_cancel(resident=resident, redemption_id=redemptions[step[1] % len(redemptions)].pk)
        except ApplicationError:
            after = (list(Account.objects.order_by("pk").values_list("pk", "balance")), Entry.objects.count())
            assert after == before, "a refused step left a change behind"
        _checked, mismatches = ledger_verify()
        assert mismatches == []
        assert not Account.objects.filter(balance__lt=0).exists()
        for item in Item.objects.filter(pk__in=[i.pk for i in items]):
            live = Redemption.objects.filter(item=item).exclude(status="cancelled").count()
            assert item.stock == 2 - live >= 0
