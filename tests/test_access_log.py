"""The access log of `tongxin serve` (real gunicorn, real HTTP) names paths without their query strings
and leaves out the referrer: searches carry phone and ID numbers, which must not reach the log."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHONE = "13812345678"
ID_NUMBER = "15060219900101123X"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_access_log_holds_no_query_string_and_no_referrer(tmp_path):
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DEBUG"}}
    env.update({"TONGXIN_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "tongxin.settings"})
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "1"],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            status = None
            while time.monotonic() < deadline and status is None:
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    connection.request("GET", f"/orders/?q={PHONE}&id_number={ID_NUMBER}",
                                       headers={"Referer": f"http://127.0.0.1:{port}/mediation/?q={ID_NUMBER}"})
                    status = connection.getresponse().status
                    connection.close()
                except OSError:
                    time.sleep(0.5)
            assert status is not None, log.read_text(errors="replace")
            time.sleep(1.0)  # gunicorn writes the line after the answer
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    text = log.read_text(errors="replace")
    assert '"GET /orders/ HTTP/1.1"' in text, text
    assert PHONE not in text and ID_NUMBER not in text and "/mediation/" not in text, text
