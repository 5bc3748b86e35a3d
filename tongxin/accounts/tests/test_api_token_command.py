"""``tongxin token create USERNAME [--name N]``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connections
from django.test import Client

from tongxin.accounts.models import ApiToken
from tongxin.core.choices import AuditEventType
from tongxin.core.models import AuditEvent
from tongxin.workorders.tests.test_api import API, _fast_password_hashing  # noqa: F401 - autouse fixture


@pytest.mark.django_db
def test_token_create_prints_a_working_token(world):
    out, err = StringIO(), StringIO()
    call_command("token", "create", "dispatcher", "--name", "工单对接", stdout=out, stderr=err)
    plain = out.getvalue().strip()
    assert plain.startswith("tx_") and "\n" not in plain
    token = ApiToken.objects.get(user=world.user("dispatcher"))
    assert token.name == "工单对接" and plain not in (token.digest, token.prefix)
    assert "只显示这一次" in err.getvalue()
    assert AuditEvent.objects.filter(event_type=AuditEventType.TOKEN_CREATED, object_id=str(token.user_id)).count() == 1
    response = Client(headers={"Authorization": f"Bearer {plain}"}).get(f"{API}/me")
    assert response.status_code == 200 and response.json()["username"] == "dispatcher"


@pytest.mark.django_db
def test_token_create_for_an_unknown_user_fails_clearly(world):
    with pytest.raises(CommandError, match="用户 ghost 不存在"):
        call_command("token", "create", "ghost")
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_token_create_exit_code_is_non_zero_for_an_unknown_user(world, capsys, monkeypatch):
    # run_from_argv closes every connection on its way out, which would drop the test's transaction
    # (and its connection) on PostgreSQL.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["tongxin", "token", "create", "ghost"])
    assert exit_info.value.code not in (0, None)
    assert "用户 ghost 不存在" in capsys.readouterr().err
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_token_create_refuses_an_inactive_user(world):
    user = world.user("leader")
    user.is_active = False
    user.save()
    with pytest.raises(CommandError, match="已停用"):
        call_command("token", "create", "leader")
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_token_without_subcommand_is_a_usage_error(world):
    with pytest.raises(CommandError):
        call_command("token")
