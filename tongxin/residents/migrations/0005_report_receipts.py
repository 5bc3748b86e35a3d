"""Reports become durable receipts (ADR 0010): ``order`` nullable, the fields needed to make the order
later, a state, a receipt number, and the staged photos. Existing reports already have their order:
they are ``registered``, with a receipt number drawn for each and the order's kind, channel and
category (not its text or the citizen's name: the order keeps those, and retention anonymises them there)."""

import secrets

import django.db.models.deletion
from django.db import migrations, models


ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # as services.RECEIPT_ALPHABET


def existing_reports_registered(apps, schema_editor):
    from django.utils import timezone

    Report = apps.get_model("residents", "Report")
    taken = set()
    for report in Report.objects.select_related("order").iterator():
        while True:
            day = timezone.localtime(report.created_at).strftime("%y%m%d")
            receipt = f"R{day}-" + "".join(secrets.choice(ALPHABET) for _ in range(8))
            if receipt not in taken:
                taken.add(receipt)
                break
        order = report.order
        Report.objects.filter(pk=report.pk).update(
            receipt=receipt, state="registered", registered_at=order.accepted_at, kind=order.kind,
            channel=order.channel, category_code=getattr(order.category, "code", "") or "", anonymous=order.anonymous)


class Migration(migrations.Migration):

    dependencies = [
        ('residents', '0004_record_change_optional_phone'),
        ('workorders', '0002_leaner_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='ReportUpload',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('index', models.PositiveSmallIntegerField()),
                ('name', models.CharField(blank=True, max_length=100)),
                ('content_type', models.CharField(max_length=40)),
                ('data', models.BinaryField()),
            ],
            options={
                'verbose_name': '诉求照片（待登记）',
                'verbose_name_plural': '诉求照片（待登记）',
            },
        ),
        migrations.AddField(
            model_name='report',
            name='anonymous',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='report',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='登记尝试次数'),
        ),
        migrations.AddField(
            model_name='report',
            name='category_code',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name='report',
            name='channel',
            field=models.CharField(blank=True, max_length=8),
        ),
        migrations.AddField(
            model_name='report',
            name='content',
            field=models.TextField(blank=True, verbose_name='内容'),
        ),
        migrations.AddField(
            model_name='report',
            name='failure',
            field=models.TextField(blank=True, verbose_name='登记失败原因'),
        ),
        migrations.AddField(
            model_name='report',
            name='kind',
            field=models.CharField(blank=True, max_length=16, verbose_name='诉求类型'),
        ),
        migrations.AddField(
            model_name='report',
            name='receipt',
            field=models.CharField(max_length=20, null=True, unique=True, verbose_name='回执号'),
        ),
        migrations.AddField(
            model_name='report',
            name='registered_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='登记时间'),
        ),
        migrations.AddField(
            model_name='report',
            name='reporter_name',
            field=models.CharField(blank=True, max_length=60),
        ),
        migrations.AddField(
            model_name='report',
            name='state',
            field=models.CharField(choices=[('received', '已收到'), ('registered', '已登记'), ('failed', '登记失败')], default='received', max_length=12, verbose_name='状态'),
        ),
        migrations.AlterField(
            model_name='report',
            name='order',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='resident_report', to='workorders.workorder'),
        ),
        migrations.RunPython(existing_reports_registered, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='report',
            name='receipt',
            field=models.CharField(max_length=20, unique=True, verbose_name='回执号'),
        ),
        migrations.AddIndex(
            model_name='report',
            index=models.Index(condition=models.Q(('state', 'received')), fields=['created_at'], name='report_received_created'),
        ),
        migrations.AddField(
            model_name='reportupload',
            name='report',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='uploads', to='residents.report'),
        ),
        migrations.AddConstraint(
            model_name='reportupload',
            constraint=models.UniqueConstraint(fields=('report', 'index'), name='report_upload_index'),
        ),
    ]
