"""The admin: organisations and mediators are editable there; cases are read-only (they change through
the workflow only); a mediator given a login in the admin gets the mediator role on the organisation's area."""

from __future__ import annotations

from tongxin.accounts.models import RoleAssignment
from tongxin.mediation.models import Mediator
from tongxin.testing import make_user
from tongxin.workorders.tests.test_api import client_for

from .conftest import new_case


def test_admin_pages_and_role_grant(mw):
    admin = mw.user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = client_for(mw, "admin")
    case = new_case(mw)
    assert client.get("/admin/mediation/mediationorg/").status_code == 200
    assert client.get(f"/admin/mediation/mediationorg/{mw.town.pk}/change/").status_code == 200
    assert client.get(f"/admin/mediation/disputecase/{case.pk}/change/").status_code == 200
    assert client.get("/admin/mediation/disputecase/add/").status_code == 403
    newbie = make_user("m_new")
    r = client.post("/admin/mediation/mediator/add/", {
        "org": mw.town.pk, "user": newbie.pk, "name": "新调解员", "grade": "regular", "specialities": "[]",
        "languages": '["zh", "mn"]', "phone": "", "active": "on"})
    assert r.status_code == 302, r.content.decode()[:3000]
    assert Mediator.objects.get(user=newbie).languages == ["zh", "mn"]
    assert RoleAssignment.objects.filter(user=newbie, role="mediator", area=mw.w.town_a).exists()
