# Seal every party's clear ID number and phone into the new columns (forward), and open them back into the
# clear columns (backward). The contexts are copied from tongxin/mediation/personal.py on purpose: a
# migration must keep doing what it did when it was written. Needs the keys that sealed the values
# (TONGXIN_DATA_KEYS, or the SECRET_KEY of the development fallback) to run backward.

from django.db import migrations

from tongxin.core import fieldcrypt
from tongxin.core.masking import mask_id_number, mask_phone

ID_CONTEXT = "mediation_party.id_number"
PHONE_CONTEXT = "mediation_party.phone"
ID_DIGEST_PURPOSE = "mediation_party.id_number"
BATCH = 500


def _batches(queryset):
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not rows:
            return
        yield rows
        last = rows[-1].pk


def seal(apps, schema_editor):
    Party = apps.get_model("mediation", "Party")
    todo = Party.objects.exclude(id_number="", phone="")
    for rows in _batches(todo):
        for party in rows:
            id_number = "".join(party.id_number.split()).upper()
            party.id_number_enc = fieldcrypt.encrypt(id_number, context=ID_CONTEXT)
            party.id_digest = fieldcrypt.digest(id_number, purpose=ID_DIGEST_PURPOSE)
            party.id_masked = mask_id_number(id_number)
            party.phone_enc = fieldcrypt.encrypt(party.phone, context=PHONE_CONTEXT)
            party.phone_masked = mask_phone(party.phone)
            party.id_number = ""
            party.phone = ""
        Party.objects.bulk_update(rows, ["id_number_enc", "id_digest", "id_masked", "phone_enc", "phone_masked",
                                         "id_number", "phone"])


def unseal(apps, schema_editor):
    Party = apps.get_model("mediation", "Party")
    todo = Party.objects.exclude(id_number_enc="", phone_enc="")
    for rows in _batches(todo):
        for party in rows:
            party.id_number = fieldcrypt.decrypt(party.id_number_enc, context=ID_CONTEXT)
            party.phone = fieldcrypt.decrypt(party.phone_enc, context=PHONE_CONTEXT)
            party.id_number_enc = party.id_digest = party.id_masked = ""
            party.phone_enc = party.phone_masked = ""
        Party.objects.bulk_update(rows, ["id_number_enc", "id_digest", "id_masked", "phone_enc", "phone_masked",
                                         "id_number", "phone"])


class Migration(migrations.Migration):

    dependencies = [
        ('mediation', '0002_party_sealed_columns'),
    ]

    operations = [
        migrations.RunPython(seal, unseal),
    ]
