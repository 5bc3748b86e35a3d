"""The pages through Django's client: list with target filters, intake, the case page and its actions,
the audited reveal, the numbers page, 404 outside jurisdiction."""

from __future__ import annotations

from tongxin.core.choices import AuditEventType
from tongxin.core.models import AuditEvent
from tongxin.mediation.models import DisputeCase
from tongxin.workorders.tests.test_api import client_for

from .conftest import new_case


def test_intake_page_creates_a_case(mw):
    client = client_for(mw, "m_comm")
    page = client.get("/mediation/new/")
    assert page.status_code == 200 and "首接首办" in page.content.decode()
    assert f'value="{mw.w.community_a.code}"' in page.content.decode()  # places inside the committee's area
    assert f'value="{mw.w.town_b.code}"' not in page.content.decode()
    r = client.post("/mediation/new/", {"do": "create", "org_id": mw.community.pk, "title": "土地边界纠纷",
                                        "dispute_type": "land_grassland", "source": "walk_in", "description": "草场边界",
                                        "people_count": 2, "party0_name": "巴特尔", "party0_side": "applicant",
                                        "party0_phone": "13912345678", "party1_side": "respondent",
                                        "party2_side": "respondent"})
    assert r.status_code == 302, r.content.decode()[:2000]
    case = DisputeCase.objects.get()
    assert r["Location"] == f"/mediation/{case.pk}/"
    bad = client.post("/mediation/new/", {"do": "create", "org_id": mw.community.pk, "title": "",
                                          "dispute_type": "other", "source": "walk_in", "description": "x",
                                          "people_count": 2, "party0_side": "applicant", "party1_side": "respondent",
                                          "party2_side": "respondent"})
    assert bad.status_code == 422 and "field-error" in bad.content.decode()


def test_case_page_actions_and_masking(mw):
    case = new_case(mw)
    client = client_for(mw, "m_comm")
    page = client.get(f"/mediation/{case.pk}/").content.decode()
    assert "138****5678" in page and "13812345678" not in page
    assert 'data-action="mediate"' in page and 'data-action="escalate"' in page
    r = client.post(f"/mediation/{case.pk}/mediate/", {"mediate-note": "当场调解", "mediate-version": case.version})
    assert r.status_code == 302
    r = client.post(f"/mediation/{case.pk}/escalate/", {"escalate-to_org_id": mw.district.pk, "escalate-reason": "越级"})
    assert r.status_code == 422  # the district is not offered: only one level up
    r = client.post(f"/mediation/{case.pk}/escalate/", {"escalate-to_org_id": mw.town.pk, "escalate-reason": "需街道协调"})
    assert r.status_code == 302
    town = client_for(mw, "m_town")
    assert 'data-action="accept_handover"' in town.get(f"/mediation/{case.pk}/").content.decode()
    assert town.post(f"/mediation/{case.pk}/accept_handover/", {"accept_handover-note": ""}).status_code == 302
    case.refresh_from_db()
    assert case.owner_org == mw.town
    revealed = town.post(f"/mediation/{case.pk}/parties/{case.parties.first().pk}/reveal/")
    assert "13812345678" in revealed.content.decode() and revealed["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(event_type=AuditEventType.PERSONAL_DATA_REVEAL).count() == 1


def test_outside_jurisdiction_404_and_lists(mw):
    case = new_case(mw)
    assert client_for(mw, "m_town_b").get(f"/mediation/{case.pk}/").status_code == 404
    assert client_for(mw, "dispatcher").get("/mediation/").status_code == 404
    leader = client_for(mw, "leader")
    page = leader.get("/mediation/", {"target": "within_community", "met": "no"}).content.decode()
    assert "共 0 件案件" in page
    assert case.number in leader.get("/mediation/").content.decode()
    numbers = leader.get("/mediation/numbers/").content.decode()
    assert "不出村" in numbers and "市域内化解" in numbers
    home = leader.get("/").content.decode()
    assert 'href="/mediation/"' in home
