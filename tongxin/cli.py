"""The ``tongxin`` command: every manage.py command, plus short names scripts can rely on.

    tongxin demo [--no-serve] [--host H] [--port P]   migrate, seed Ordos demo data, serve
    tongxin serve [--host H] [--port P]                the application server (gunicorn)
    tongxin token create USERNAME                      print a new API token
    tongxin worker                                     the Huey consumer (background and periodic jobs)
    tongxin bench [--quick] [--only a,b]               run every benchmark in bench/, one table
    tongxin backup / tongxin restore ARCHIVE           database and uploaded files, verified
    tongxin <any manage.py command>                    e.g. tongxin migrate, tongxin check --deploy
"""

from __future__ import annotations

import os
import sys

ALIASES = {"worker": "run_huey"}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    if args and args[0] in ALIASES:
        args[0] = ALIASES[args[0]]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["tongxin", *args])


if __name__ == "__main__":
    main()
