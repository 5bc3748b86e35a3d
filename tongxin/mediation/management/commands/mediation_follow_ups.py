from django.core.management.base import BaseCommand

from tongxin.mediation.followups import follow_up_sweep


class Command(BaseCommand):
    help = "Run the mediation follow-up sweep once (回访提醒). --dry-run changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, dry_run=False, **options):
        report = follow_up_sweep(dry_run=dry_run)
        self.stdout.write(f"提醒 {len(report.reminders)}，超期 {len(report.overdue)}，通知 {report.notifications}"
                          + ("（演练，未写入）" if dry_run else ""))
