"""Walk every (status, action) pair of the lifecycle table through the real services.

- A pair in ``TRANSITIONS``: every user the table does not allow is refused (403, or 404 where the order is
  outside what they may see) and nothing is written; every allowed user passes the check; one allowed user
  takes the action and the order moves to the table's ``to`` (or stays), its version goes up by one and
  exactly one event records the move.
- A pair not in the table: 409 ``illegal_transition`` and nothing is written.

``accept`` is the creation of an order, not an action on one: it appears in no row of the table.
"""

from __future__ import annotations

import pytest

from tongxin.accounts.selectors import actor_scope
from tongxin.core.errors import IllegalTransition, NotFound, PermissionDenied
from tongxin.workorders import services as s
from tongxin.workorders.choices import Action, Status
from tongxin.workorders.models import WorkOrder
from tongxin.workorders.selectors import work_orders_visible_to
from tongxin.workorders.workflow import SYSTEM_ACTIONS, TRANSITIONS, allowed_actions, check_transition

from .engine_helpers import (  # noqa: F401 - fast_password_hashing is an autouse fixture
    allowed_usernames,
    create,
    drive,
    events_of,
    fast_password_hashing,
    perform,
    snapshot,
)

ACTIONS = [a for a in Action if a != Action.ACCEPT]
LEGAL = sorted(TRANSITIONS, key=lambda pair: (list(Status).index(pair[0]), list(Action).index(pair[1])))
ILLEGAL = [(status, action) for status in Status for action in ACTIONS if (status, action) not in TRANSITIONS]


def _prepare(world, status, action):
    """An order in ``status`` with whatever the action needs besides the status (and the merge target)."""
    order = drive(world, status)
    into = None
    if action in {Action.APPROVE_EXTENSION, Action.DENY_EXTENSION}:
        perform(world, Action.REQUEST_EXTENSION, order, world.user("handler"))
    if (status, action) == (Status.IN_PROGRESS, Action.REPLY):
        s.work_order_co_reply(order_id=order.pk, actor=world.user("water_handler"), text="已配合")
    if action == Action.MERGE:
        into = create(world, content="同一处垃圾（原工单）")
    order.refresh_from_db()
    return order, into


def _visible(user, order) -> bool:
    return work_orders_visible_to(user).filter(pk=order.pk).exists()


def test_the_table_covers_what_the_services_offer():
    assert not any(action == Action.ACCEPT for _status, action in TRANSITIONS)
    terminal = {Status.CLOSED, Status.MERGED, Status.WITHDRAWN, Status.INVALID, Status.TRANSFERRED}
    for status in terminal:
        assert allowed_actions(status) == [], status
    for status in set(Status) - terminal - {Status.REPLIED}:
        assert {Action.MERGE, Action.WITHDRAW} <= set(allowed_actions(status)), status
    # Every action but accept is possible somewhere (a new action must be added to the table and the walk).
    assert {action for _status, action in TRANSITIONS} == set(ACTIONS)


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "action"), LEGAL, ids=[f"{s}-{a}" for s, a in LEGAL])
def test_legal_pair(world, status, action):
    transition = TRANSITIONS[(status, action)]
    order, into = _prepare(world, status, action)
    allowed = allowed_usernames(world, order, transition)
    assert allowed, "every row must name somebody in the test world"

    # Everybody else is refused, and the refusal writes nothing.
    for username, user in world.users.items():
        if username in allowed:
            continue
        before = snapshot(order)
        expected = PermissionDenied if _visible(user, order) else NotFound
        with pytest.raises((PermissionDenied, NotFound)) as caught:
            perform(world, action, order, user, into=into)
        assert type(caught.value) is expected, (username, caught.value)
        assert snapshot(order) == before, username

    # Every allowed user passes the guard (checked without acting: the action can be taken only once).
    for username in allowed:
        check_transition(order, action, actor_scope(world.user(username)))
    # The system (the SLA sweep) may only remind and supervise.
    if action in SYSTEM_ACTIONS:
        check_transition(order, action, None)
    else:
        with pytest.raises(PermissionDenied):
            check_transition(order, action, None)

    actor = world.user(sorted(allowed)[0])
    before = snapshot(order)
    perform(world, action, order, actor, into=into)
    after = WorkOrder.objects.get(pk=order.pk)
    expected_status = transition.to or status
    assert after.status == expected_status
    assert after.version == order.version + 1
    events = events_of(after)
    assert len(events) == before["order_events"] + 1
    last = events[-1]
    assert (last.action, last.from_status, last.to_status) == (action, status, expected_status)
    assert last.actor == actor
    assert last.actor_role in transition.roles


@pytest.mark.django_db
@pytest.mark.parametrize("status", list(Status))
def test_illegal_pairs_change_nothing(world, status):
    order = drive(world, status)
    into = create(world, content="另一工单")
    illegal = [action for action in ACTIONS if (status, action) not in TRANSITIONS]
    assert illegal
    for action in illegal:
        # The natural actor of the action where they can see the order, else a city-wide supervisor.
        rows = [t for (_s, a), t in TRANSITIONS.items() if a == action]
        natural = {"lead": "handler", "co": "water_handler"}.get(rows[0].scope) if rows else None
        if natural is None:
            natural = next(n for n in ("operator", "dispatcher", "supervisor") if rows and n in rows[0].roles)
        user = world.user(natural)
        if not _visible(user, order):
            user = world.user("supervisor")
        before = snapshot(order)
        with pytest.raises(IllegalTransition) as caught:
            perform(world, action, order, user, into=into)
        assert caught.value.code == "illegal_transition"
        assert caught.value.status == 409
        assert caught.value.fields == {"action": action, "status": status}
        assert snapshot(order) == before, action
