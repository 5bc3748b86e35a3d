"""``tongxin points verify``: every account's stored balance equals the sum of its entries.

Prints how many accounts it checked and each mismatch; exits 1 on any mismatch (for cron and CI)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from tongxin.points.selectors import ledger_verify


class Command(BaseCommand):
    help = "积分台账: verify (余额 = 流水之和), report_sweep (有效诉求积分, 同定时任务)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "report_sweep"])

    def handle(self, *args, action: str = "verify", **options):
        if action == "report_sweep":
            from tongxin.points.services import report_awards_sweep

            result = report_awards_sweep()
            self.stdout.write(_("确认诉求 %(seen)s 条，新发积分 %(paid)s 笔") % {"seen": result["seen"], "paid": result["paid"]})
            return
        checked, mismatches = ledger_verify()
        for m in mismatches:
            self.stdout.write(_("账户 %(account_id)s: 存储余额 %(stored)s，流水合计 %(summed)s") % {"account_id": m.account_id, "stored": m.stored, "summed": m.summed})
        self.stdout.write(_("已核对 %(checked)s 个积分账户，不一致 %(bad)s 个") % {"checked": checked, "bad": len(mismatches)})
        if mismatches:
            raise CommandError(_("%(bad)s 个积分账户余额与流水之和不一致") % {"bad": len(mismatches)}, returncode=1)
