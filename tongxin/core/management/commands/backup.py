"""``tongxin backup [--output DIR]``: the database and the uploaded files in one .tar with a manifest of
row counts and SHA-256 checksums (tongxin/core/backup.py, docs/backup.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "备份数据库和上传文件到一个 .tar 文件（内含行数和校验和清单 manifest.json）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", metavar="DIR", help="备份文件存放目录（默认 var/backups/）")

    def handle(self, *args: Any, **options: Any) -> None:
        from tongxin.core.backup import BackupError, backup_create, backup_verify

        try:
            result = backup_create(output_dir=options.get("output"))
            check = backup_verify(result.path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if not check.ok:
            raise CommandError(_("备份已写出，但校验未通过：%(path)s：%(problems)s")
                               % {"path": result.path, "problems": "；".join(check.problems[:10])})
        self.stdout.write(_("备份完成并已校验：%(path)s（%(engine)s，%(tables)s 张表，%(rows)s 行；%(files)s 个上传文件，"
                            "%(media_mb).1f MB；备份文件 %(size_mb).1f MB）") % {
            "path": result.path, "engine": result.engine, "tables": result.tables, "rows": result.rows,
            "files": result.media_files, "media_mb": result.media_bytes / 1e6, "size_mb": result.size / 1e6})
