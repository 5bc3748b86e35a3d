"""The parties' ID numbers and phones at rest (issue 11): a dump of the database holds no clear value and
no digit beyond the masked part; the audited reveal, the hand-over to a work order and the admin still
work; a mediator finds earlier cases of the same person by ID number, inside the jurisdiction only;
``tongxin pii rekey`` moves every value to a new key."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.management import call_command
from django.db import connection

from tongxin.core import fieldcrypt
from tongxin.core.choices import AuditEventType
from tongxin.core.models import AuditEvent
from tongxin.mediation import personal, selectors, services
from tongxin.mediation.models import Party
from tongxin.workorders.tests.test_api import client_for

from .conftest import new_case

ID = "15060219900101123X"
PHONE = "13812345678"
K1 = base64.b64encode(bytes(range(32))).decode()
K2 = base64.b64encode(bytes(range(64, 96))).decode()


def _windows(value: str, size: int = 7) -> list[str]:
    return [value[i:i + size] for i in range(len(value) - size + 1)]


def assert_no_clear_value(text: str) -> None:
    """Neither value, nor any 7 of their consecutive characters (the masks keep at most 4 in a row)."""
    for value in (ID, ID.lower(), PHONE):
        leaked = [w for w in _windows(value) if w in text]
        assert not leaked, f"{value} leaks through {leaked}"


def _case(mw, **kw):
    parties = [{"name": "张三", "phone": PHONE, "id_number": ID.lower()},
               {"name": "李四", "side": "respondent", "phone": "13900001111"}]
    return new_case(mw, parties=parties, **kw)


@pytest.mark.django_db
def test_a_database_dump_holds_neither_the_id_number_nor_the_phone(mw, settings, tmp_path):
    settings.TONGXIN_DATA_KEYS = f"k1:{K1}"
    case = _case(mw)
    services.party_reveal(actor=mw.user("m_comm"), case_id=case.pk, party_id=case.parties.first().pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM mediation_party")
        rows = cursor.fetchall()
        columns = [c[0] for c in cursor.description]
    raw = repr(rows)
    assert "id_number" not in columns and "phone" not in columns  # the clear columns are gone
    assert_no_clear_value(raw)
    assert "150*************3X" in raw and "138****5678" in raw and "v1:k1:" in raw  # sanity: we read the rows
    out = tmp_path / "dump.json"
    call_command("dumpdata", "mediation", "core", output=str(out), verbosity=0)
    dumped = out.read_text(encoding="utf-8")
    assert "150*************3X" in dumped  # the parties are in the dump, masked
    assert_no_clear_value(dumped)  # … and so is the reveal's audit row, without the values


@pytest.mark.django_db
def test_the_sealed_column_opens_only_as_itself(mw, settings):
    settings.TONGXIN_DATA_KEYS = f"k1:{K1}"
    party = _case(mw).parties.order_by("id").first()
    assert personal.party_id_number(party) == ID and personal.party_phone(party) == PHONE
    party.phone_enc = party.id_number_enc  # a row edited in the database: another column's ciphertext
    with pytest.raises(fieldcrypt.DecryptionError):
        personal.party_phone(party)
    settings.TONGXIN_DATA_KEYS = f"k2:{K2}"  # the application without the key that sealed it
    with pytest.raises(fieldcrypt.DecryptionError):
        personal.party_id_number(party)


@pytest.mark.django_db
def test_reveal_shows_the_full_values_and_is_audited(mw):
    case = _case(mw)
    party = case.parties.order_by("id").first()
    api = client_for(mw, "m_comm")
    detail = api.get(f"/api/v1/mediation/cases/{case.pk}").json()
    assert detail["parties"][0]["id_number"] == "150*************3X" and detail["parties"][0]["phone"] == "138****5678"
    r = api.get(f"/api/v1/mediation/cases/{case.pk}/parties/{party.pk}/reveal")
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    assert (r.json()["id_number"], r.json()["phone"]) == (ID, PHONE)
    page = client_for(mw, "m_comm").post(f"/mediation/{case.pk}/parties/{party.pk}/reveal/").content.decode()
    assert ID in page and PHONE in page
    audits = AuditEvent.objects.filter(event_type=AuditEventType.PERSONAL_DATA_REVEAL, object_id=str(party.pk))
    assert audits.count() == 2 and all(ID not in str(a.data) and PHONE not in str(a.data) for a in audits)
    leader = client_for(mw, "leader")
    assert leader.get(f"/api/v1/mediation/cases/{case.pk}/parties/{party.pk}/reveal").status_code == 403
    assert ID not in leader.get(f"/mediation/{case.pk}/").content.decode()


@pytest.mark.django_db
def test_search_by_id_number_finds_earlier_cases_only_in_jurisdiction(mw):
    here, again = _case(mw), _case(mw, title="再次发生的漏水纠纷")
    there = _case(mw, by="m_town_b", org=mw.town_b)
    other = new_case(mw, parties=[{"name": "王五", "id_number": "150602198001015678"}])

    def found(username: str, q: str) -> set[int]:
        filters = selectors.CaseFilters(q=q)
        return set(selectors.case_list(actor=mw.user(username), filters=filters).values_list("pk", flat=True))

    assert found("m_comm", ID) == {here.pk, again.pk}
    assert found("m_comm", " " + ID.lower() + " ") == {here.pk, again.pk}  # spaces and a small x are normalised
    assert found("m_town_b", ID) == {there.pk}  # the same person, but only the cases of one's own area
    assert found("m_city", ID) == {here.pk, again.pk, there.pk}
    assert found("m_comm", ID[:17]) == set()  # no partial matching of ID numbers
    assert found("m_comm", "150602198001015678") == {other.pk}
    api = client_for(mw, "m_comm").post("/api/v1/mediation/cases/search", {"q": ID}, content_type="application/json").json()
    assert {item["id"] for item in api["items"]} == {here.pk, again.pk}
    client = client_for(mw, "m_town_b")
    page = client.get(client.post("/mediation/", {"q": ID})["Location"]).content.decode()
    assert there.number in page and here.number not in page and again.number not in page


@pytest.mark.django_db
def test_the_work_order_raised_from_a_case_gets_the_clear_phone(mw):
    case = _case(mw)
    order = services.case_raise_work_order(case_id=case.pk, actor=mw.user("m_comm"), content="请住建部门查看漏水管道")
    assert order.citizen_phone == PHONE and order.citizen_name == "张三"


@pytest.mark.django_db
def test_the_admin_shows_the_parties_masked_only(mw):
    admin = mw.user("admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    case = _case(mw)
    page = client_for(mw, "admin").get(f"/admin/mediation/disputecase/{case.pk}/change/").content.decode()
    sealed = case.parties.order_by("id").first().id_number_enc
    assert "150*************3X" in page and "138****5678" in page
    assert sealed not in page and sealed.split(":")[2][:16] not in page
    assert_no_clear_value(page)


@pytest.mark.django_db
def test_rekey_moves_every_value_to_the_first_key(mw, settings):
    settings.TONGXIN_DATA_KEYS = f"k1:{K1}"
    for _i in range(3):
        _case(mw)
    total = Party.objects.count()  # 6 parties, all with a phone, two in three with an ID number
    settings.TONGXIN_DATA_KEYS = f"k2:{K2},k1:{K1}"
    assert {fieldcrypt.key_id_of(p.phone_enc) for p in Party.objects.all()} == {"k1"}
    assert len(selectors.case_list(actor=mw.user("m_comm"), filters=selectors.CaseFilters(q=ID))) == 3  # old digests still match

    dry = io.StringIO()
    call_command("pii", "rekey", "--dry-run", stdout=dry)
    assert f"检查 {total} 条，重新加密 {total} 条" in dry.getvalue()
    assert {fieldcrypt.key_id_of(p.phone_enc) for p in Party.objects.all()} == {"k1"}  # a dry run writes nothing

    out = io.StringIO()
    call_command("pii", "rekey", "--batch", "4", stdout=out)
    assert f"检查 {total} 条，重新加密 {total} 条，2 批" in out.getvalue()
    parties = list(Party.objects.all())
    assert {fieldcrypt.key_id_of(p.phone_enc) for p in parties} == {"k2"}
    assert {fieldcrypt.key_id_of(p.id_number_enc) for p in parties if p.id_number_enc} == {"k2"}

    again = io.StringIO()
    call_command("pii", "rekey", stdout=again)  # idempotent
    assert f"检查 {total} 条，重新加密 0 条" in again.getvalue()

    settings.TONGXIN_DATA_KEYS = f"k2:{K2}"  # the old key can now go
    party = Party.objects.exclude(id_number_enc="").first()
    assert personal.party_id_number(party) == ID and personal.party_phone(party) == PHONE
    assert len(selectors.case_list(actor=mw.user("m_comm"), filters=selectors.CaseFilters(q=ID))) == 3
