"""``tongxin backup`` / ``tongxin restore`` end to end: back up, wipe, restore, compare the row counts and
the files; a non-empty target is refused without --force; a tampered archive fails verification and
changes nothing. On SQLite (the test database) and, marked ``postgres``, on PostgreSQL."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from tongxin.core.backup import (
    MANIFEST,
    BackupError,
    backup_create,
    backup_restore,
    backup_verify,
    database_has_data,
    database_row_counts,
)

pytestmark = pytest.mark.django_db(transaction=True)

FILES = {"attachments/2026/11/photo.jpg": bytes(range(256)) * 40, "qr/家庭码-1.png": b"\x89PNG fake but bytes",
         "empty.txt": b""}


@pytest.fixture
def media(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


USERS = get_user_model()._meta.db_table


def _wipe(media: Path) -> None:
    call_command("flush", interactive=False, verbosity=0)
    for path in sorted(media.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    assert database_has_data() == 0 and not any(media.rglob("*"))


def _rewrite(archive: Path, target: Path, change) -> Path:
    """A copy of the archive with ``change(name, data) -> data | None`` applied to each member (None drops
    it); members keep their order and metadata."""
    with tarfile.open(archive) as src, tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            new = change(member.name, data)
            if new is None:
                continue
            member.size = len(new)
            dst.addfile(member, io.BytesIO(new))
    return target


def _manifest(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.loads(tar.extractfile(MANIFEST).read())


def test_backup_wipe_restore_gives_back_every_row_and_file(world, media, tmp_path):
    before = database_row_counts()
    users = get_user_model().objects.count()
    result = backup_create(output_dir=tmp_path / "out")
    assert result.path.name.startswith(f"tongxin-backup-{connection.vendor}-") and result.path.suffix == ".tar"
    assert result.path.stat().st_mode & 0o077 == 0  # personal data: owner only
    manifest = _manifest(result.path)
    assert manifest["tables"] == before and manifest["rows"] == sum(before.values()) > 0
    assert {m["path"] for m in manifest["media"]} == {f"media/{n}" for n in FILES}
    assert backup_verify(result.path).ok

    _wipe(media)
    assert database_row_counts() != before
    restored = backup_restore(result.path)
    assert restored.rows == sum(before.values()) and restored.media_files == len(FILES)
    assert database_row_counts() == before
    assert get_user_model().objects.count() == users
    assert get_user_model().objects.filter(username="leader").exists()
    for name, data in FILES.items():
        assert (media / name).read_bytes() == data


def test_restore_refuses_a_non_empty_target_without_force(world, media, tmp_path):
    archive = backup_create(output_dir=tmp_path / "out").path
    get_user_model().objects.create_user(username="after_backup")
    with pytest.raises(BackupError, match="--force"):
        backup_restore(archive)
    assert get_user_model().objects.filter(username="after_backup").exists()  # nothing changed
    (media / "new-since-backup.txt").write_bytes(b"kept")
    restored = backup_restore(archive, force=True)
    assert not get_user_model().objects.filter(username="after_backup").exists()  # the backup's state
    assert restored.kept_files == 1 and (media / "new-since-backup.txt").read_bytes() == b"kept"


def test_an_empty_media_root_alone_does_not_count_as_data(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "no-media-yet"
    archive = backup_create(output_dir=tmp_path / "out").path
    assert _manifest(archive)["media"] == []
    call_command("flush", interactive=False, verbosity=0)
    backup_restore(archive)
    assert get_user_model().objects.filter(username="leader").exists()


def test_backups_kept_under_media_root_are_not_archived_again(world, media):
    first = backup_create(output_dir=media / "backups").path
    second = backup_create(output_dir=media / "backups", now=timezone.now() + timedelta(seconds=5)).path
    names = {m["path"] for m in _manifest(second)["media"]}
    assert names == {f"media/{n}" for n in FILES} and f"media/backups/{first.name}" not in names


def test_a_tampered_archive_fails_verification_and_restores_nothing(world, media, tmp_path):
    archive = backup_create(output_dir=tmp_path / "out").path

    def flip(name, data):
        return bytes([data[0] ^ 1]) + data[1:] if name.endswith("photo.jpg") else data

    tampered = _rewrite(archive, tmp_path / "flipped.tar", flip)
    result = backup_verify(tampered)
    assert not result.ok and any("校验和" in p and "photo.jpg" in p for p in result.problems)

    def edit_counts(name, data):
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        manifest["tables"][USERS] += 1  # a count that no longer matches the copied database
        return json.dumps(manifest).encode()

    if connection.vendor == "sqlite":
        result = backup_verify(_rewrite(archive, tmp_path / "counts.tar", edit_counts))
        assert any(USERS in p and "行数" in p for p in result.problems)

    dropped = backup_verify(_rewrite(archive, tmp_path / "dropped.tar",
                                     lambda n, d: None if n.endswith("empty.txt") else d))
    assert any("缺少文件" in p for p in dropped.problems)

    extra = _rewrite(archive, tmp_path / "extra.tar", lambda n, d: d)
    with tarfile.open(extra, "a") as tar:
        info = tarfile.TarInfo("media/../../etc/evil")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    assert any("清单未列出" in p for p in backup_verify(extra).problems)

    _wipe(media)
    for bad in (tampered, extra):
        with pytest.raises(BackupError, match="校验未通过"):
            backup_restore(bad)
    assert database_has_data() == 0 and not any(media.rglob("*"))  # nothing restored
    assert not (tmp_path / "etc").exists()


def test_not_an_archive(tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(BackupError, match="不是有效的备份文件"):
        backup_verify(junk)
    with pytest.raises(BackupError, match="找不到备份文件"):
        backup_verify(tmp_path / "missing.tar")
    with tarfile.open(tmp_path / "no-manifest.tar", "w") as tar:
        tar.addfile(tarfile.TarInfo("x"), io.BytesIO(b""))
    with pytest.raises(BackupError, match=r"manifest\.json"):
        backup_verify(tmp_path / "no-manifest.tar")


def test_the_commands(world, media, tmp_path, capsys):
    call_command("backup", output=str(tmp_path / "out"))
    out = capsys.readouterr().out
    assert "备份完成并已校验" in out
    archive = next((tmp_path / "out").glob("*.tar"))
    call_command("restore", str(archive), verify_only=True)
    assert "备份校验通过" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(archive))
    tampered = _rewrite(archive, tmp_path / "t.tar",
                        lambda n, d: d.replace(b"fake", b"FAKE") if n.endswith(".png") else d)
    with pytest.raises(CommandError, match="校验未通过"):
        call_command("restore", str(tampered), verify_only=True)
    _wipe(media)
    call_command("restore", str(archive))
    assert "恢复完成并已核对" in capsys.readouterr().out
    assert (media / "qr/家庭码-1.png").read_bytes() == FILES["qr/家庭码-1.png"]


@pytest.mark.postgres
def test_backup_and_restore_on_postgresql(world, media, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    before = database_row_counts()
    archive = backup_create(output_dir=tmp_path / "out").path
    manifest = _manifest(archive)
    assert manifest["engine"] == "postgresql" and manifest["database"]["path"] == "database/db.dump"
    assert manifest["tables"] == before
    assert backup_verify(archive).ok
    _wipe(media)
    with pytest.raises(BackupError, match="校验未通过"):
        backup_restore(_rewrite(archive, tmp_path / "t.tar", lambda n, d: d[:-1] + b"X" if n.endswith("dump") else d))
    assert database_has_data() == 0
    backup_restore(archive)
    assert database_row_counts() == before
    assert get_user_model().objects.filter(username="leader").exists()
    for name, data in FILES.items():
        assert (media / name).read_bytes() == data
