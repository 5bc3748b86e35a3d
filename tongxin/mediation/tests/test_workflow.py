"""The transition table, walked for every (status, action) pair: pairs in the table pass the guard for
the right actor and refuse anyone else (403); pairs outside it are illegal (409) whoever asks."""

from __future__ import annotations

import pytest

from tongxin.core.errors import IllegalTransition, PermissionDenied
from tongxin.mediation.choices import Action, Status
from tongxin.mediation.workflow import CASE_ACTIONS, TRANSITIONS, check_transition

from .conftest import new_case

PAIRS = [(status, action) for status in Status for action in CASE_ACTIONS]


@pytest.mark.parametrize(("status", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_every_pair(mw, status, action):
    case = new_case(mw)
    case.status = status  # the guard reads the status only; the services reach each status in test_services
    transition = TRANSITIONS.get((status, action))
    owner = mw.user("m_comm")
    outsider = mw.user("m_town")  # sees the case (town A contains community A) but does not own it
    target_id = mw.town.pk if transition is not None and transition.who == "target" else None
    if transition is None:
        with pytest.raises(IllegalTransition):
            check_transition(case, action, owner)
        return
    if transition.who == "target":
        _t, role = check_transition(case, action, outsider, target_org_id=target_id)
        assert role == "mediator"
        with pytest.raises(PermissionDenied):
            check_transition(case, action, owner, target_org_id=target_id)
    else:
        _t, role = check_transition(case, action, owner)
        assert role == "mediator"
        with pytest.raises(PermissionDenied):
            check_transition(case, action, outsider)
    # A leader (no mediator membership) never passes, except as the case leader of a joint case.
    leader = mw.user("leader")
    if transition.who == "owner_or_leader":
        case.case_leader = leader
        assert check_transition(case, action, leader)[1] == "case_leader"
    else:
        with pytest.raises(PermissionDenied):
            check_transition(case, action, leader, target_org_id=target_id)


def test_terminal_statuses_allow_nothing_but_confirmation():
    for status in (Status.FAILED, Status.WITHDRAWN):
        assert not [a for (s, a) in TRANSITIONS if s == status]
    assert [a for (s, a) in TRANSITIONS if s == Status.CLOSED] == [Action.CONFIRM]


def test_illegal_transition_message_is_chinese(mw):
    case = new_case(mw)
    with pytest.raises(IllegalTransition) as exc:
        check_transition(case, Action.CLOSE, mw.user("m_comm"))
    assert "已受理" in exc.value.message and exc.value.fields == {"action": "close", "status": "received"}
