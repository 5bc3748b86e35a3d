"""Migrations 0002-0004 on real rows: backward opens the sealed values into the clear columns again,
forward seals clear values (and the digest finds them), and nothing clear is left afterwards."""

from __future__ import annotations

import base64

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tongxin.core import fieldcrypt
from tongxin.mediation import personal
from tongxin.mediation.models import Party

from .conftest import build_mediation_world, new_case

BEFORE = [("mediation", "0002_party_sealed_columns")]
LATEST = [("mediation", "0004_party_drop_clear_columns")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_migration_backward_and_forward_on_rows(world, settings):
    settings.TONGXIN_DATA_KEYS = "m1:" + base64.b64encode(bytes(range(7, 39))).decode()
    mw = build_mediation_world(world)
    case = new_case(mw)  # 张三 13812345678 150602199001011234, 李四 13900001111
    try:
        old_apps = _migrate(BEFORE)
        OldParty = old_apps.get_model("mediation", "Party")
        rows = {p.name: p for p in OldParty.objects.filter(case_id=case.pk)}
        assert (rows["张三"].id_number, rows["张三"].phone) == ("150602199001011234", "13812345678")
        assert (rows["李四"].id_number, rows["李四"].phone) == ("", "13900001111")
        assert not any(getattr(p, f) for p in rows.values() for f in personal.SEALED_COLUMNS)  # nothing sealed left
        # A row written by the old code: clear values, lower-case x, nothing in the new columns.
        OldParty.objects.create(case_id=case.pk, name="王五", kind="person", side="other", phone="0477-8123456",
                                id_number="15060219800101567x")
        _migrate(LATEST)
    finally:
        _migrate(LATEST)  # leave the schema as the other tests expect it
    wang = Party.objects.get(name="王五")
    assert personal.party_id_number(wang) == "15060219800101567X" and personal.party_phone(wang) == "0477-8123456"
    assert wang.id_masked == "150*************7X" and wang.phone_masked == "047*****3456"
    assert wang.id_digest in personal.id_number_digests("15060219800101567x")
    zhang = Party.objects.get(name="张三")
    assert personal.party_id_number(zhang) == "150602199001011234"
    assert {fieldcrypt.key_id_of(p.phone_enc) for p in Party.objects.all()} == {"m1"}
