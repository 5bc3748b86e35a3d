"""``tongxin token create USERNAME [--name N]``: print a new API token for a user.

The token is shown once: only its SHA-256 digest is stored. Use it as ``Authorization: Bearer <token>``
(docs/api.md).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "接口令牌：为用户创建一个 API 令牌（create），令牌只显示这一次。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create}")
        create = sub.add_parser("create", help="为用户创建令牌并打印到标准输出")
        create.add_argument("username", help="用户名")
        create.add_argument("--name", default="", help="令牌名称（例如调用方系统的名字），便于日后识别和吊销")

    def handle(self, *args: Any, **options: Any) -> None:
        from tongxin.accounts.models import User
        from tongxin.accounts.services import api_token_create

        username = options["username"]
        name = (options.get("name") or "").strip()
        if len(name) > 100:
            raise CommandError(_("令牌名称不能超过 100 个字符"))
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("用户 %(username)s 不存在") % {"username": username})
        if not user.is_active:
            raise CommandError(_("用户 %(username)s 已停用，不能创建令牌") % {"username": username})
        _token, plain = api_token_create(user=user, name=name)
        # Only the token on stdout, so that scripts can capture it: TOKEN=$(tongxin token create alice).
        self.stdout.write(plain)
        self.stderr.write(_("已为 %(username)s 创建令牌（只显示这一次，请妥善保存）。") % {"username": username})
