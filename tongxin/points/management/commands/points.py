"""``tongxin points verify``: every account's stored balance equals the sum of its entries.

Prints how many accounts it checked and each mismatch; exits 1 on any mismatch (for cron and CI)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tongxin.points.selectors import ledger_verify


class Command(BaseCommand):
    help = "积分台账: verify (余额 = 流水之和), report_sweep (有效诉求积分, 同定时任务)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "report_sweep"])

    def handle(self, *args, action: str = "verify", **options):
        if action == "report_sweep":
            from tongxin.points.services import report_awards_sweep

            result = report_awards_sweep()
            self.stdout.write(f"确认诉求 {result['seen']} 条，新发积分 {result['paid']} 笔")
            return
        checked, mismatches = ledger_verify()
        for m in mismatches:
            self.stdout.write(f"账户 {m.account_id}: 存储余额 {m.stored}，流水合计 {m.summed}")
        self.stdout.write(f"已核对 {checked} 个积分账户，不一致 {len(mismatches)} 个")
        if mismatches:
            raise CommandError(f"{len(mismatches)} 个积分账户余额与流水之和不一致", returncode=1)
