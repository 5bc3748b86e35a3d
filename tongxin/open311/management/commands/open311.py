"""``tongxin open311 key create NAME --user USERNAME [--rate N]``: an Open311 API key, printed once.

Also ``tongxin open311 key list`` and ``tongxin open311 key revoke NAME``. Only the SHA-256 digest of
a key is stored; the owner is the channel owner as whom the requests are recorded (an operator,
dispatcher, supervisor or administrator). See docs/open311.md.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Open311 接口密钥：创建（create，只显示这一次）、列出（list）、停用（revoke）。"

    def add_arguments(self, parser: CommandParser) -> None:
        groups = parser.add_subparsers(dest="group", required=True, metavar="{key}")
        key = groups.add_parser("key", help="接口密钥")
        actions = key.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="创建密钥并打印到标准输出")
        create.add_argument("name", help="名称（调用方系统的名字），唯一")
        create.add_argument("--user", required=True, help="渠道负责人的用户名：以其身份受理诉求")
        create.add_argument("--rate", type=int, default=60, help="每分钟请求上限（默认 60）")
        actions.add_parser("list", help="列出所有密钥（不含密钥本身）")
        revoke = actions.add_parser("revoke", help="停用密钥")
        revoke.add_argument("name", help="密钥名称")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "list":
            self._list()
        else:
            self._revoke(options["name"])

    def _create(self, options: dict[str, Any]) -> None:
        from tongxin.accounts.models import User
        from tongxin.core.errors import ValidationFailed
        from tongxin.open311.services import api_key_create

        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"用户 {options['user']} 不存在")
        try:
            key, plain = api_key_create(name=options["name"], owner=user, rate_limit=options["rate"])
        except ValidationFailed as exc:
            raise CommandError("；".join(str(v) for v in exc.fields.values()) or exc.message) from None
        # Only the key on stdout, so that scripts can capture it: KEY=$(tongxin open311 key create app --user u).
        self.stdout.write(plain)
        self.stderr.write(f"已创建 Open311 接口密钥「{key.name}」（渠道负责人 {user.username}，每分钟 {key.rate_limit} 次）。"
                          "密钥只显示这一次，请妥善保存。")

    def _list(self) -> None:
        from tongxin.open311.models import ApiKey

        for key in ApiKey.objects.select_related("owner").order_by("name"):
            state = "启用" if key.active else "停用"
            used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "-"
            self.stdout.write(f"{key.name}\t{key.prefix}…\t{key.owner.username}\t{key.rate_limit}/分钟\t{state}\t{used}")

    def _revoke(self, name: str) -> None:
        from tongxin.open311.models import ApiKey
        from tongxin.open311.services import api_key_revoke

        key = ApiKey.objects.filter(name=name).first()
        if key is None:
            raise CommandError(f"密钥「{name}」不存在")
        api_key_revoke(key=key)
        self.stderr.write(f"已停用密钥「{name}」。")
