# The clear columns go: from here on a database dump holds only sealed, masked and digest values.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('mediation', '0003_party_seal_values'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='party',
            name='id_number',
        ),
        migrations.RemoveField(
            model_name='party',
            name='phone',
        ),
    ]
