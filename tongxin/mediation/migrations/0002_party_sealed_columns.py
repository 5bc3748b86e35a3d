# The sealed, masked and digest columns of a party's ID number and phone (issue 11). The clear columns
# stay until 0003 has converted every row; 0004 drops them.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('mediation', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='party',
            name='phone_enc',
            field=models.TextField(blank=True, editable=False, verbose_name='联系电话（密文）'),
        ),
        migrations.AddField(
            model_name='party',
            name='phone_masked',
            field=models.CharField(blank=True, editable=False, max_length=20, verbose_name='联系电话'),
        ),
        migrations.AddField(
            model_name='party',
            name='id_number_enc',
            field=models.TextField(blank=True, editable=False, verbose_name='证件号码（密文）'),
        ),
        migrations.AddField(
            model_name='party',
            name='id_digest',
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=64, verbose_name='证件号码摘要'),
        ),
        migrations.AddField(
            model_name='party',
            name='id_masked',
            field=models.CharField(blank=True, editable=False, max_length=30, verbose_name='证件号码'),
        ),
    ]
