"""``tongxin demo [--no-serve] [--host H] [--port P] [--orders N] [--reset]``.

Migrate, seed the Ordos demo if the database has none yet (tongxin/demo/seed.py; a second run adds
nothing), print the address and one login per role, then serve (``tongxin serve``). ``--no-serve``
stops after seeding. ``--reset`` empties the whole database first (every table: use it on a demo
database only) and seeds again.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils.translation import gettext as _

from .serve import DEFAULT_HOST, DEFAULT_PORT, run_server


class Command(BaseCommand):
    help = "演示：迁移数据库、生成鄂尔多斯演示数据（如尚未生成）、打印各角色登录账号并启动服务。"

    def add_arguments(self, parser: CommandParser) -> None:
        from tongxin.demo.seed import DEFAULT_ORDERS

        parser.add_argument("--no-serve", action="store_true", help="只迁移和生成数据，不启动服务")
        parser.add_argument("--host", default=DEFAULT_HOST, help=f"监听地址（默认 {DEFAULT_HOST}）")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"端口（默认 {DEFAULT_PORT}）")
        parser.add_argument("--workers", type=int, default=None, help="工作进程数（默认按 CPU 核数）")
        parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS,
                            help=f"生成的历史工单数（默认 {DEFAULT_ORDERS}，0 表示不生成）")
        parser.add_argument("--reset", action="store_true", help="先清空整个数据库（仅用于演示库）再重新生成")

    def handle(self, *args: Any, **options: Any) -> None:
        from tongxin.demo.seed import demo_is_seeded, demo_logins, demo_seed

        if options["orders"] < 0:
            raise CommandError(_("--orders 不能为负数"))
        verbosity = options.get("verbosity", 1)
        say = self.stdout.write if verbosity else (lambda _message: None)
        say(_("数据库：%(name)s") % {"name": connection.settings_dict["NAME"]})
        call_command("migrate", interactive=False, verbosity=0)
        if options["reset"]:
            say(self.style.WARNING(_("--reset：清空数据库中的全部数据…")))
            call_command("flush", interactive=False, verbosity=0)
        if demo_is_seeded():
            say(_("演示数据已存在，跳过生成（如需重建请加 --reset）"))
        else:
            report = demo_seed(orders=options["orders"], log=say)
            say(self.style.SUCCESS(_("演示数据已生成，用时 %(seconds)s 秒") % {"seconds": format(report.seconds, ".1f")}))
        host, port = options["host"], options["port"]
        shown_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - only a display choice
        logins, password = demo_logins()
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(_("地址：http://%(shown_host)s:%(port)s/") % {"shown_host": shown_host, "port": port}))
        self.stdout.write(_("演示账号（密码均为 %(password)s）：") % {"password": password})
        for username, role, scope in logins:
            self.stdout.write(f"  {username:<22} {role:<10} {scope}")
        from tongxin.demo.residents import DEMO_PHONE, demo_resident_path

        if resident_path := demo_resident_path():
            self.stdout.write(_("居民扫码演示：http://%(shown_host)s:%(port)s%(resident_path)s（手机号 %(DEMO_PHONE)s，验证码见服务器日志）") % {"shown_host": shown_host, "port": port, "resident_path": resident_path, "DEMO_PHONE": DEMO_PHONE})
        if options["no_serve"]:
            return
        run_server(host=host, port=port, workers=options["workers"], stdout=self.stdout)
