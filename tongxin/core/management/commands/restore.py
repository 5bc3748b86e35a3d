"""``tongxin restore ARCHIVE [--verify-only] [--force]``: check an archive made by ``tongxin backup``
against its manifest and (unless ``--verify-only``) restore the database and the uploaded files from it.
Refuses a database that holds accounts, or a non-empty MEDIA_ROOT, unless ``--force``. Exit code 1 when
the verification fails (docs/backup.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "从 tongxin backup 生成的 .tar 文件校验并恢复数据库和上传文件。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", metavar="ARCHIVE", help="备份文件（.tar）")
        parser.add_argument("--verify-only", action="store_true", help="只校验备份文件，不做恢复")
        parser.add_argument("--force", action="store_true", help="目标数据库或上传目录不为空时仍然覆盖")

    def handle(self, *args: Any, **options: Any) -> None:
        from tongxin.core.backup import BackupError, backup_restore, backup_verify

        archive = options["archive"]
        try:
            if options["verify_only"]:
                result = backup_verify(archive)
                if not result.ok:
                    raise CommandError(_("备份校验未通过（%(count)s 项）：%(problems)s")
                                       % {"count": len(result.problems), "problems": "；".join(result.problems[:20])})
                m = result.manifest
                note = _("；PostgreSQL 导出文件的行数在恢复后核对") if m["engine"] == "postgresql" else ""
                self.stdout.write(_("备份校验通过：%(archive)s（%(engine)s，生成于 %(at)s，%(tables)s 张表，%(rows)s 行，"
                                    "%(files)s 个上传文件%(note)s）") % {
                    "archive": archive, "engine": m["engine"], "at": m.get("created_at"),
                    "tables": len(m.get("tables") or {}), "rows": m.get("rows"), "files": len(m.get("media") or []),
                    "note": note})
                return
            restored = backup_restore(archive, force=options["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(_("恢复完成并已核对：%(tables)s 张表、%(rows)s 行与清单一致，%(files)s 个上传文件校验和一致。")
                          % {"tables": restored.tables, "rows": restored.rows, "files": restored.media_files})
        if restored.kept_files:
            self.stdout.write(_("上传目录中另有 %(n)s 个备份里没有的文件，已保留未动。") % {"n": restored.kept_files})
