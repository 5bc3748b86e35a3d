"""Backups of the database and the uploaded files, and their restore (``tongxin backup`` / ``tongxin
restore``; docs/backup.md).

An archive is one uncompressed ``.tar``:

- ``database/db.sqlite3`` (SQLite, copied with the online backup API: a consistent copy while the
  application runs) or ``database/db.dump`` (PostgreSQL, ``pg_dump -Fc``);
- ``media/<path>``: every file under MEDIA_ROOT;
- ``manifest.json`` (written last): format, time, engine, the row count of every table, and the size and
  SHA-256 of the database file and of every media file.

The counts are taken from the same snapshot as the copy: on SQLite from the copy itself, on PostgreSQL
inside a REPEATABLE READ transaction whose snapshot ``pg_dump --snapshot`` reuses, so the manifest
describes exactly what is in the archive even while the application writes.

Verification (``backup_verify``, also the first step of every restore) checks that every file the
manifest names is there with its size and checksum, that nothing else is, and — SQLite — that the copied
database passes ``PRAGMA integrity_check`` and has the manifest's row counts; PostgreSQL — that
``pg_restore --list`` reads the dump (its row counts are compared after the restore). The manifest is a
checksum list, not a signature: it detects damage and careless edits, not a forger who rewrites both.

Restore refuses a database that holds user accounts, or a MEDIA_ROOT that holds files, unless ``force``;
it replaces the whole database (SQLite: the backup API copies the archived database over the live one in
one step; PostgreSQL: ``pg_restore --clean --single-transaction``), writes the media files (each to a
temporary name, checked, then renamed), and compares the restored row counts and file checksums with
the manifest. Stop the application and the worker before restoring.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/db.sqlite3"
PG_MEMBER = "database/db.dump"
MEDIA_PREFIX = "media/"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message (Chinese) says why and what to do."""


@dataclass
class BackupResult:
    path: Path
    engine: str
    tables: int
    rows: int
    media_files: int
    media_bytes: int
    size: int


@dataclass
class VerifyResult:
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class RestoreResult:
    engine: str
    tables: int
    rows: int
    media_files: int
    kept_files: int  # files already under MEDIA_ROOT that the archive does not hold (left in place)


# --- helpers --------------------------------------------------------------------------------------

def database_engine() -> str:
    vendor = connection.vendor
    if vendor not in {"sqlite", "postgresql"}:
        raise BackupError(_("不支持的数据库类型：%(vendor)s（只支持 SQLite 和 PostgreSQL）") % {"vendor": vendor})
    return vendor


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _HashingReader(io.RawIOBase):
    """Hashes what tarfile reads, so the checksum is that of the bytes archived (a file that changes while
    it is read cannot get a checksum that differs from its archived copy)."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        return data


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _media_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _safe_media_path(name: str) -> PurePosixPath | None:
    """The path under MEDIA_ROOT an archive member may write to, or None for anything that could escape
    it (absolute paths, "..", empty names)."""
    if not name.startswith(MEDIA_PREFIX):
        return None
    rel = PurePosixPath(name[len(MEDIA_PREFIX):])
    if not rel.parts or rel.is_absolute() or any(part in {"..", ""} for part in rel.parts):
        return None
    return rel


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {t: int(conn.execute(f"SELECT COUNT(*) FROM {_quote(t)}").fetchone()[0]) for t in tables}  # noqa: S608


def _pg_tables(cursor: Any) -> list[str]:
    cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                   "AND table_type = 'BASE TABLE' ORDER BY table_name")
    return [r[0] for r in cursor.fetchall()]


def _pg_counts(cursor: Any) -> dict[str, int]:
    counts = {}
    for table in _pg_tables(cursor):
        cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608 - a name read from the catalogue
        counts[table] = int(cursor.fetchone()[0])
    return counts


def database_row_counts() -> dict[str, int]:
    """Rows per table of the live database (what the manifest is compared with after a restore)."""
    engine = database_engine()
    connection.ensure_connection()
    if engine == "sqlite":
        return _sqlite_counts(connection.connection)
    with connection.cursor() as cursor:
        return _pg_counts(cursor)


def _pg_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    for key, value in (("PGHOST", db.get("HOST")), ("PGPORT", db.get("PORT")), ("PGUSER", db.get("USER")),
                       ("PGPASSWORD", db.get("PASSWORD")), ("PGDATABASE", db.get("NAME"))):
        if value:
            env[key] = str(value)
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BackupError(_("找不到 %(tool)s：请安装 PostgreSQL 客户端工具（Debian：apt-get install postgresql-client），"
                            "版本不低于数据库服务器") % {"tool": name})
    return path


def _run(args: list[str], *, what: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, env=_pg_env(), capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(_("%(what)s失败：%(error)s") % {"what": what, "error": (result.stderr or "").strip()[-2000:]})
    return result


# --- backup ---------------------------------------------------------------------------------------

def _add_file(tar: tarfile.TarFile, path: Path, name: str) -> dict[str, Any]:
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    with path.open("rb") as raw:
        reader = _HashingReader(raw)
        tar.addfile(info, fileobj=reader)  # type: ignore[arg-type]
    return {"path": name, "size": info.size, "sha256": reader.digest.hexdigest()}


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


@contextmanager
def _database_copy(engine: str, work: Path) -> Iterator[tuple[Path, dict[str, int]]]:
    """A consistent copy of the database in ``work`` and the row counts of exactly that copy."""
    if engine == "sqlite":
        target = work / "db.sqlite3"
        connection.ensure_connection()
        dest = sqlite3.connect(target)
        try:
            connection.connection.backup(dest)
            counts = _sqlite_counts(dest)
        finally:
            dest.close()
        yield target, counts
        return
    import psycopg

    pg_dump = _pg_tool("pg_dump")
    target = work / "db.dump"
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]  # type: ignore[index]
            counts = _pg_counts(cursor)
            # The dump reads the snapshot of this (still open) transaction: the counts describe it exactly.
            _run([pg_dump, "-Fc", "--no-owner", "--no-privileges", f"--snapshot={snapshot}", "-f", str(target)],
                 what=_("pg_dump 导出数据库"))
        conn.rollback()
    yield target, counts


def backup_create(*, output_dir: Path | str | None = None, now: datetime | None = None) -> BackupResult:
    """Write ``tongxin-backup-<engine>-<YYYYmmdd-HHMMSS>.tar`` into ``output_dir`` (default
    ``VAR_DIR/backups``), readable by its owner only (it holds personal data). The archive appears under
    its final name only once complete."""
    engine = database_engine()
    now = now or timezone.now()
    out = Path(output_dir) if output_dir else Path(settings.VAR_DIR) / "backups"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(_("无法创建备份目录 %(dir)s：%(error)s") % {"dir": out, "error": exc}) from exc
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M%S")
    final = out / f"tongxin-backup-{engine}-{stamp}.tar"
    if final.exists():
        raise BackupError(_("备份文件已存在：%(path)s") % {"path": final})
    partial = out / f".{final.name}.partial"
    media_root = _media_root()
    try:
        with tempfile.TemporaryDirectory(prefix="tongxin-backup-", dir=out) as tmp, \
                _database_copy(engine, Path(tmp)) as (db_path, counts):
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
                database = _add_file(tar, db_path, SQLITE_MEMBER if engine == "sqlite" else PG_MEMBER)
                # Never archive the backups themselves, should the output folder lie under MEDIA_ROOT.
                media = [_add_file(tar, p, MEDIA_PREFIX + p.relative_to(media_root).as_posix())
                         for p in _media_files(media_root) if not p.resolve().is_relative_to(out.resolve())]
                manifest = {
                    "format": FORMAT, "created_at": timezone.localtime(now).isoformat(), "engine": engine,
                    "database": database, "tables": counts, "rows": sum(counts.values()),
                    "media": media, "media_bytes": sum(m["size"] for m in media),
                }
                _add_bytes(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode(), now.timestamp())
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(path=final, engine=engine, tables=len(counts), rows=sum(counts.values()),
                        media_files=len(media), media_bytes=manifest["media_bytes"], size=final.stat().st_size)


# --- verify ---------------------------------------------------------------------------------------

def _open_archive(archive: Path | str) -> tarfile.TarFile:
    path = Path(archive)
    if not path.is_file():
        raise BackupError(_("找不到备份文件：%(path)s") % {"path": path})
    try:
        return tarfile.open(path, mode="r:")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(_("不是有效的备份文件（应为 .tar）：%(path)s") % {"path": path}) from exc


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        data = tar.extractfile(member)
        manifest = json.loads(data.read()) if data else None
    except (KeyError, ValueError) as exc:
        raise BackupError(_("备份文件中没有可读的清单 manifest.json")) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("备份清单格式不受支持（需要格式 %(format)s）") % {"format": FORMAT})
    if manifest.get("engine") not in {"sqlite", "postgresql"} or not isinstance(manifest.get("database"), dict):
        raise BackupError(_("备份清单不完整：缺少数据库信息"))
    return manifest


def _member_digest(tar: tarfile.TarFile, member: tarfile.TarInfo, copy_to: Path | None = None) -> str:
    source = tar.extractfile(member)
    digest = hashlib.sha256()
    target = copy_to.open("wb") if copy_to else None
    try:
        for chunk in iter(lambda: source.read(CHUNK), b""):  # type: ignore[union-attr]
            digest.update(chunk)
            if target:
                target.write(chunk)
    finally:
        if target:
            target.close()
    return digest.hexdigest()


def _check_member(tar: tarfile.TarFile, entry: dict[str, Any], problems: list[str], copy_to: Path | None = None) -> bool:
    name = str(entry.get("path", ""))
    try:
        member = tar.getmember(name)
    except KeyError:
        problems.append(_("缺少文件：%(name)s") % {"name": name})
        return False
    if not member.isfile():
        problems.append(_("不是普通文件：%(name)s") % {"name": name})
        return False
    if member.size != entry.get("size"):
        problems.append(_("文件大小与清单不符：%(name)s") % {"name": name})
        return False
    if _member_digest(tar, member, copy_to) != entry.get("sha256"):
        problems.append(_("校验和（SHA-256）与清单不符：%(name)s") % {"name": name})
        return False
    return True


def _compare_counts(expected: dict[str, int], actual: dict[str, int], problems: list[str], *, where: str) -> None:
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            problems.append(_("%(where)s缺少数据表 %(table)s") % {"where": where, "table": table})
        elif table not in expected:
            problems.append(_("%(where)s多出清单未列出的数据表 %(table)s") % {"where": where, "table": table})
        elif int(expected[table]) != actual[table]:
            problems.append(_("%(where)s数据表 %(table)s 行数为 %(actual)s，清单记录 %(expected)s")
                            % {"where": where, "table": table, "actual": actual[table], "expected": expected[table]})


def _verify(tar: tarfile.TarFile, work: Path) -> tuple[VerifyResult, Path | None]:
    """Checks of an open archive; the database file is left in ``work`` (for the restore) when it checks."""
    manifest = _read_manifest(tar)
    result = VerifyResult(manifest=manifest)
    problems = result.problems
    database = manifest["database"]
    expected_name = SQLITE_MEMBER if manifest["engine"] == "sqlite" else PG_MEMBER
    if database.get("path") != expected_name:
        problems.append(_("清单中的数据库文件名不符：%(name)s") % {"name": database.get("path")})
        return result, None
    db_copy = work / PurePosixPath(expected_name).name
    db_ok = _check_member(tar, database, problems, copy_to=db_copy)
    media = manifest.get("media") or []
    listed = {MANIFEST, expected_name}
    for entry in media:
        name = str(entry.get("path", ""))
        if _safe_media_path(name) is None:
            problems.append(_("清单中的文件路径不安全：%(name)s") % {"name": name})
            continue
        listed.add(name)
        _check_member(tar, entry, problems)
    for member in tar.getmembers():
        if member.name not in listed:
            problems.append(_("备份中有清单未列出的内容：%(name)s") % {"name": member.name})
    if db_ok and manifest["engine"] == "sqlite":
        conn = sqlite3.connect(f"file:{db_copy}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                problems.append(_("数据库文件损坏：%(detail)s") % {"detail": check})
            else:
                _compare_counts(manifest.get("tables") or {}, _sqlite_counts(conn), problems, where=_("备份的数据库："))
        except sqlite3.DatabaseError as exc:
            problems.append(_("数据库文件无法读取：%(error)s") % {"error": exc})
        finally:
            conn.close()
    elif db_ok:
        try:
            _run([_pg_tool("pg_restore"), "--list", str(db_copy)], what=_("pg_restore 读取导出文件"))
        except BackupError as exc:
            problems.append(str(exc))
    return result, (db_copy if db_ok else None)


def backup_verify(archive: Path | str) -> VerifyResult:
    """Check an archive against its manifest without touching the database or MEDIA_ROOT."""
    with _open_archive(archive) as tar, tempfile.TemporaryDirectory(prefix="tongxin-verify-") as tmp:
        result, _db = _verify(tar, Path(tmp))
    return result


# --- restore --------------------------------------------------------------------------------------

def database_has_data() -> int:
    """User accounts in the database (0 when the table does not exist yet). A database that ``migrate``
    just created holds none; any database in use holds at least its administrator."""
    from django.contrib.auth import get_user_model

    table = get_user_model()._meta.db_table
    if table not in connection.introspection.table_names():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return int(cursor.fetchone()[0])


def _restore_sqlite(db_copy: Path) -> None:
    connection.ensure_connection()
    if connection.in_atomic_block:
        raise BackupError(_("不能在事务中恢复数据库"))
    source = sqlite3.connect(f"file:{db_copy}?mode=ro", uri=True)
    try:
        # One step: the backup API replaces every page of the live database, or none (it holds the
        # destination's write lock for the whole copy when done in a single step).
        source.backup(connection.connection)
    except sqlite3.OperationalError as exc:
        raise BackupError(_("恢复数据库失败（是否仍有程序在使用数据库？请先停止服务和后台任务）：%(error)s")
                          % {"error": exc}) from exc
    finally:
        source.close()


def _restore_postgres(dump: Path) -> None:
    from django.db import connections

    pg_restore = _pg_tool("pg_restore")
    connections.close_all()
    name = settings.DATABASES["default"]["NAME"]
    _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", "-d", str(name), str(dump)], what=_("pg_restore 恢复数据库"))


def _restore_media(tar: tarfile.TarFile, media: list[dict[str, Any]], root: Path) -> None:
    for entry in media:
        rel = _safe_media_path(entry["path"])
        assert rel is not None  # checked by the verification
        target = root.joinpath(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".restore-", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if _member_digest(tar, tar.getmember(entry["path"]), tmp) != entry["sha256"]:
                raise BackupError(_("校验和（SHA-256）与清单不符：%(name)s") % {"name": entry["path"]})
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def backup_restore(archive: Path | str, *, force: bool = False) -> RestoreResult:
    """Verify the archive, then replace the database and write the media files, then check both against
    the manifest. Raises BackupError (nothing changed) when the archive fails verification, when it was
    made from another database engine, or when the target is not empty and ``force`` is not given."""
    engine = database_engine()
    root = _media_root()
    with _open_archive(archive) as tar, tempfile.TemporaryDirectory(prefix="tongxin-restore-") as tmp:
        result, db_copy = _verify(tar, Path(tmp))
        if not result.ok or db_copy is None:
            raise BackupError(_("备份校验未通过，未做任何恢复：") + "；".join(result.problems[:20]))
        manifest = result.manifest
        if manifest["engine"] != engine:
            raise BackupError(_("备份来自 %(archive)s 数据库，当前数据库是 %(current)s：不能直接恢复")
                              % {"archive": manifest["engine"], "current": engine})
        users = database_has_data()
        existing = _media_files(root)
        if not force and (users or existing):
            raise BackupError(_("目标不是空的（数据库中有 %(users)s 个账号，上传目录中有 %(files)s 个文件）：为防止覆盖数据，"
                                "恢复已拒绝。确认要覆盖时加 --force。") % {"users": users, "files": len(existing)})
        archived = {str(_safe_media_path(m["path"])) for m in manifest.get("media") or []}
        kept = sum(1 for p in existing if p.relative_to(root).as_posix() not in archived)
        if engine == "sqlite":
            _restore_sqlite(db_copy)
        else:
            _restore_postgres(db_copy)
        _restore_media(tar, manifest.get("media") or [], root)
    problems: list[str] = []
    _compare_counts(manifest.get("tables") or {}, database_row_counts(), problems, where=_("恢复后的数据库："))
    for entry in manifest.get("media") or []:
        rel = _safe_media_path(entry["path"])
        path = root.joinpath(*rel.parts) if rel else None
        if path is None or not path.is_file() or _sha256_file(path) != entry["sha256"]:
            problems.append(_("恢复后的文件与清单不符：%(name)s") % {"name": entry["path"]})
    if problems:
        raise BackupError(_("恢复后核对未通过：") + "；".join(problems[:20]))
    tables = manifest.get("tables") or {}
    return RestoreResult(engine=engine, tables=len(tables), rows=sum(int(v) for v in tables.values()),
                         media_files=len(manifest.get("media") or []), kept_files=kept)
