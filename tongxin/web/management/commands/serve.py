"""``tongxin serve [--host H] [--port P] [--workers N] [--threads T]``: the application server.

Runs gunicorn in-process (gunicorn.app.base.BaseApplication) on ``tongxin.wsgi:application``. Static
files come from WhiteNoise, so DEBUG stays off. Behind nginx in production (docs/deploy.md) the same
command serves on 127.0.0.1; ``gunicorn tongxin.wsgi`` with your own config works just as well.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# The access log names the path without its query string and leaves out the referrer: searches carry
# phone numbers (``/orders/?q=138…``; the mediation search posts its term), and personal data stays out of
# logs (PIPL; docs/security.md). gunicorn's default ("%(r)s" and "%(f)s") would write them.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'


def default_workers() -> int:
    return max(2, min(4, os.cpu_count() or 2))


def run_server(*, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, workers: int | None = None,
               threads: int = 4, stdout: Any = None) -> None:
    """Serve until interrupted. Blocks; returns when gunicorn's arbiter stops."""
    from pathlib import Path

    from django.conf import settings
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    # WhiteNoise finds the files in the apps (no collectstatic needed) but warns when STATIC_ROOT is missing.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    from tongxin.wsgi import application

    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers or default_workers(),
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "tongxin",
    }

    class TongxinServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    # Workers are forked from this process: they must not share its database connection.
    connections.close_all()
    if stdout is not None:
        stdout.write(_("同心 tongxin 正在 http://%(host)s:%(port)s/ 提供服务（%(workers)s 个进程 × %(threads)s 线程），"
                       "按 Ctrl+C 停止") % {"host": host, "port": port, "workers": options["workers"], "threads": threads})
    TongxinServer().run()


class Command(BaseCommand):
    help = "启动应用服务器（gunicorn），静态文件由 WhiteNoise 提供，无需 DEBUG。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=DEFAULT_HOST, help=f"监听地址（默认 {DEFAULT_HOST}）")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"端口（默认 {DEFAULT_PORT}）")
        parser.add_argument("--workers", type=int, default=None, help="工作进程数（默认按 CPU 核数，2–4）")
        parser.add_argument("--threads", type=int, default=4, help="每个进程的线程数（默认 4）")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 < options["port"] < 65536:
            raise CommandError(_("端口 %(port)s 无效") % {"port": options["port"]})
        if options["workers"] is not None and options["workers"] < 1:
            raise CommandError(_("--workers 至少为 1"))
        run_server(host=options["host"], port=options["port"], workers=options["workers"],
                   threads=options["threads"], stdout=self.stdout)
