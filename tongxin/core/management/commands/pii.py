"""``tongxin pii newkey [--id ID]`` / ``tongxin pii rekey [--batch N] [--dry-run]``: the keys that seal
personal values at rest (tongxin.core.fieldcrypt; docs/configuration.md, TONGXIN_DATA_KEYS).

``newkey`` prints one ``id:base64`` entry (32 random bytes) to put first in TONGXIN_DATA_KEYS.
``rekey`` reseals every stored value under the first key, so an old key can then be removed. Core knows
no domain: the domains' functions are named in ``TONGXIN_PII_REKEY_HANDLERS`` (dotted paths to
``f(*, batch_size, dry_run) -> {"examined", "resealed", "batches"}``), each one transaction per batch.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.module_loading import import_string

from tongxin.core import fieldcrypt

DEFAULT_HANDLERS = ("tongxin.mediation.services.parties_rekey",)


def run_rekey(*, batch_size: int = 500, dry_run: bool = False) -> dict[str, dict[str, int]]:
    results = {}
    for path in getattr(settings, "TONGXIN_PII_REKEY_HANDLERS", DEFAULT_HANDLERS):
        results[path] = import_string(path)(batch_size=batch_size, dry_run=dry_run)
    return results


class Command(BaseCommand):
    help = "个人信息加密密钥：newkey 生成新密钥，rekey 用第一个密钥重新加密全部已存数据（密钥轮换）"

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        new = sub.add_parser("newkey", help="生成一个新密钥（id:base64），放在 TONGXIN_DATA_KEYS 的最前面")
        new.add_argument("--id", default="", help="密钥编号（默认 k+当天日期，如 k20260101）")
        rekey = sub.add_parser("rekey", help="用第一个密钥重新加密全部数据（幂等，分批，每批一个事务）")
        rekey.add_argument("--batch", type=int, default=500, help="每批行数（默认 500）")
        rekey.add_argument("--dry-run", action="store_true", help="只统计，不修改")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "newkey":
            key_id = options["id"] or "k" + timezone.now().strftime("%Y%m%d")
            if not fieldcrypt.KEY_ID_RE.match(key_id):
                raise CommandError("密钥编号只能包含字母、数字、- 和 _，最长 32 个字符")
            self.stdout.write(f"{key_id}:{fieldcrypt.new_key()}")
            return
        if options["batch"] < 1:
            raise CommandError("--batch 必须是正整数")
        ring = fieldcrypt.keyring()
        if ring.fallback:
            self.stderr.write("警告：未设置 TONGXIN_DATA_KEYS，正在使用由 SECRET_KEY 派生的开发密钥")
        mode = "（试运行，未修改）" if options["dry_run"] else ""
        self.stdout.write(f"加密密钥：{ring.primary}；可解密密钥：{', '.join(ring.keys)}{mode}")
        for path, counts in run_rekey(batch_size=options["batch"], dry_run=options["dry_run"]).items():
            self.stdout.write(f"{path}: 检查 {counts['examined']} 条，重新加密 {counts['resealed']} 条，"
                              f"{counts['batches']} 批")
