from django.db import migrations

from tongxin.grids.choices import DEFAULT_OPINION_TOPICS


def seed_topics(apps, schema_editor):
    OpinionTopic = apps.get_model("grids", "OpinionTopic")
    for order, (code, name) in enumerate(DEFAULT_OPINION_TOPICS, start=1):
        OpinionTopic.objects.get_or_create(code=code, defaults={"name": name, "order": order})


class Migration(migrations.Migration):
    dependencies = [("grids", "0001_initial")]

    operations = [migrations.RunPython(seed_topics, migrations.RunPython.noop)]
