"""Turn the households' building text into Building rows (one per community and name) and link them.

The text stays (it is what older pages and the code print sheet group by); from now on the services
keep it equal to the linked building's name.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    Building = apps.get_model("residents", "Building")
    Household = apps.get_model("residents", "Household")
    seen = {}
    rows = (Household.objects.exclude(building="").filter(building_ref__isnull=True)
            .order_by("area_id", "building", "id").values_list("id", "area_id", "grid_id", "building", "address"))
    for pk, area_id, grid_id, name, address in rows.iterator():
        key = (area_id, name.strip()[:40])
        building_id = seen.get(key)
        if building_id is None:
            existing = Building.objects.filter(area_id=area_id, name=key[1]).first()
            if existing is None:
                # The building's address: the household's, up to and including the building name.
                cut = address.find(key[1])
                existing = Building.objects.create(
                    area_id=area_id, grid_id=grid_id, name=key[1],
                    address=address[:cut + len(key[1])] if cut >= 0 else "")
            building_id = seen[key] = existing.pk
        Household.objects.filter(pk=pk).update(building_ref_id=building_id)


def backwards(apps, schema_editor):
    Household = apps.get_model("residents", "Household")
    Household.objects.update(building_ref=None)
    apps.get_model("residents", "Building").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("residents", "0002_building_resident_fields")]
    operations = [migrations.RunPython(forwards, backwards)]
