"""Who sees what: mediators their organisation's area subtree, leaders and supervisors read, anyone else
404; parties masked by default, revealed only through an audited call."""

from __future__ import annotations

import pytest

from tongxin.core.choices import AuditEventType
from tongxin.core.errors import NotFound, PermissionDenied
from tongxin.core.models import AuditEvent
from tongxin.mediation import selectors, services

from .conftest import new_case


def test_visibility_follows_area_subtree(mw):
    case = new_case(mw)
    b_case = new_case(mw, org=mw.town_b, by="m_town_b")
    visible = {name: set(selectors.cases_visible_to(mw.user(name)).values_list("pk", flat=True))
               for name in ("m_comm", "m_town", "m_city", "m_town_b", "leader", "leader_b", "supervisor", "admin",
                            "dispatcher", "handler", "nobody")}
    assert visible["m_comm"] == {case.pk}
    assert visible["m_town"] == {case.pk}
    assert visible["m_city"] == visible["leader"] == visible["supervisor"] == visible["admin"] == {case.pk, b_case.pk}
    assert visible["m_town_b"] == visible["leader_b"] == {b_case.pk}
    assert visible["dispatcher"] == visible["handler"] == visible["nobody"] == set()


def test_leader_reads_but_cannot_act(mw):
    case = new_case(mw)
    assert selectors.case_get(actor=mw.user("leader"), case_id=case.pk) is not None
    with pytest.raises(PermissionDenied):
        services.case_mediate(case_id=case.pk, actor=mw.user("leader"))


def test_reveal_is_audited_and_limited(mw):
    case = new_case(mw)
    party = case.parties.order_by("id").first()
    with pytest.raises(NotFound):
        services.party_reveal(actor=mw.user("m_town_b"), case_id=case.pk, party_id=party.pk)
    with pytest.raises(PermissionDenied):
        services.party_reveal(actor=mw.user("leader"), case_id=case.pk, party_id=party.pk)
    assert not AuditEvent.objects.filter(event_type=AuditEventType.PERSONAL_DATA_REVEAL).exists()
    revealed = services.party_reveal(actor=mw.user("m_town"), case_id=case.pk, party_id=party.pk)
    assert revealed.phone == "13812345678"
    audit = AuditEvent.objects.get(event_type=AuditEventType.PERSONAL_DATA_REVEAL)
    assert audit.actor_id == mw.user("m_town").pk and audit.object_type == "mediation_party"
    assert audit.data["case"] == case.number
