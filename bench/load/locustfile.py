"""The morning peak, as locust users (run by ``python bench/load``; not by hand without its seed).

- **Operators** (话务员) record requests from the hotline (``POST /api/v1/work-orders``) and dispatch each
  at once to the department the category belongs to (``POST …/dispatch``), now and then looking at the
  queue of accepted orders.
- **Handlers** (承办人) of two departments read their department's queue, sign (签收) what waits for them
  and reply (办结答复) to what they are working on. Several handlers of one department race for the same
  order: the loser's 409 is the application doing its job, counted apart (``[409]``), not as an error.
- **Residents** (居民) scan their household's code (``GET /r/<token>/``), sign in with the SMS code (the
  scenario's SMS backend writes messages to a file, which the client reads as the resident reads the
  phone), report (随手拍, ``POST /api/v1/residents/reports``), and read their requests and the board.

Every acknowledged (2xx) write is appended to ``$LOAD_ACK_DIR/acks-<pid>.jsonl`` so that the fault
script can check afterwards that each one exists, complete. Configuration comes from the environment
(``LOAD_SEED``: the seed file written by the scenario; ``LOAD_SMS_FILE``; ``LOAD_ACK_DIR``;
``LOAD_CRITICAL_SHARE``: the share of critical requests; ``LOAD_POINTS=1``: send points, not area codes).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, task

SEED = json.loads(Path(os.environ["LOAD_SEED"]).read_text())
SMS_FILE = Path(os.environ["LOAD_SMS_FILE"])
ACK_DIR = Path(os.environ["LOAD_ACK_DIR"])
CRITICAL_SHARE = float(os.environ.get("LOAD_CRITICAL_SHARE", "0.05"))
CSRF = os.environ.get("LOAD_CSRF", "loadcsrftoken0123456789abcdefghi")
BOUNDARY = "----txload7MA4YWxkTrZu0gW"
DEPARTMENTS = list(SEED["departments"].items())  # [("housing", id), ("education", id)]
# Requests of each department's category fall inside its district of the test world.
BOXES = {"housing": (107.05, 37.05, 107.95, 37.95), "education": (109.05, 37.05, 109.95, 37.95)}
TOWNS = {"housing": "150602001", "education": "150603001"}
# With LOAD_POINTS=1 operators send the caller's point and intake finds the area (point → area lookup);
# by default they name the area (the operator picked it from the caller's address).
POINTS = os.environ.get("LOAD_POINTS", "") == "1"
PROBLEMS = ["小区门口垃圾三天没人清理", "路灯不亮已经一周", "楼道内堆放杂物存在消防隐患", "下水道堵塞污水外溢",
            "学校周边交通拥堵", "夜间施工噪音扰民", "供暖温度不达标", "井盖缺失存在安全隐患"]
_counter = itertools.count()
_report_seq = itertools.count(1)
_ack_file: Any = None


def ack(op: str, **fields: Any) -> None:
    """Record one acknowledged write (flushed at once: the record must outlive a crash of the server)."""
    global _ack_file
    if _ack_file is None:
        ACK_DIR.mkdir(parents=True, exist_ok=True)
        _ack_file = open(ACK_DIR / f"acks-{os.getpid()}.jsonl", "a", buffering=1)  # noqa: SIM115
    _ack_file.write(json.dumps({"op": op, "t": time.time(), **fields}) + "\n")
    _ack_file.flush()


def _why(resp: Any) -> str:
    """The status and the error's message without its numbers, so that locust groups alike failures."""
    try:
        body = resp.json()
        text = f"{body.get('code', '')} {body.get('message', '')}"
    except Exception:
        text = ""
    return f"{resp.status_code} " + re.sub(r"\d+", "N", text)[:80]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


class Operator(FastHttpUser):
    weight = 3
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        n = next(_counter)
        self.headers = _bearer(SEED["operators"][n % len(SEED["operators"])])
        self.rng = random.Random(os.getpid() * 1000 + n)

    @task(6)
    def create_and_dispatch(self) -> None:
        key, dept = self.rng.choice(DEPARTMENTS)
        box = BOXES[key]
        body = {
            "channel": "hotline", "kind": self.rng.choice(["complaint", "help", "report"]),
            "urgency": "critical" if self.rng.random() < CRITICAL_SHARE else "normal",
            "content": f"{self.rng.choice(PROBLEMS)}，请尽快处理（早高峰 {self.rng.randrange(10**6)}）",
            "category_code": SEED["categories"][key],
            "address": f"{self.rng.choice(['幸福小区', '阳光花园', '滨河路'])}{self.rng.randint(1, 30)}号楼",
            "citizen_name": "张先生", "citizen_phone": f"138{self.rng.randrange(10**8):08d}",
        }
        if POINTS:
            body.update(lat=round(self.rng.uniform(box[1], box[3]), 5), lng=round(self.rng.uniform(box[0], box[2]), 5))
        else:
            body["area_code"] = TOWNS[key]
        with self.client.post("/api/v1/work-orders", json=body, headers=self.headers, name="operator: create",
                              catch_response=True) as resp:
            if resp.status_code != 201:
                resp.failure(_why(resp))
                return
            created = resp.json()
            ack("create", id=created["id"], number=created["number"])
        with self.client.post(f"/api/v1/work-orders/{created['id']}/dispatch", name="operator: dispatch",
                              json={"lead_department_id": dept, "version": created["version"]}, headers=self.headers,
                              catch_response=True) as resp:
            if resp.status_code == 200:
                ack("dispatch", id=created["id"], department=dept)
            else:
                resp.failure(_why(resp))

    @task(1)
    def queue(self) -> None:
        self.client.get("/api/v1/work-orders?status=accepted&limit=20", headers=self.headers,
                        name="operator: accepted queue")


class Handler(FastHttpUser):
    weight = 3
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        n = next(_counter)
        self.dept_id, tokens = list(SEED["handlers"].items())[n % len(SEED["handlers"])]
        self.headers = _bearer(tokens[(n // len(SEED["handlers"])) % len(tokens)])
        self.rng = random.Random(os.getpid() * 1000 + n + 7)

    def _pick(self, status: str) -> dict[str, Any] | None:
        with self.client.get(f"/api/v1/work-orders?status={status}&lead_department_id={self.dept_id}&limit=20",
                             headers=self.headers, name=f"handler: {status} queue", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(_why(resp))
                return None
            items = resp.json()["items"]
        return self.rng.choice(items) if items else None

    def _act(self, order: dict[str, Any], action: str, body: dict[str, Any]) -> None:
        path = f"/api/v1/work-orders/{order['id']}/{action}"
        with self.client.post(path, json={**body, "version": order["version"]}, headers=self.headers,
                              name=f"handler: {action}", catch_response=True) as resp:
            if resp.status_code == 200:
                ack(action, id=order["id"])
            elif resp.status_code == 409:  # another handler of the department was quicker
                resp.request_meta["name"] = f"handler: {action} [409]"
                resp.success()
            else:
                resp.failure(_why(resp))

    @task(3)
    def sign(self) -> None:
        order = self._pick("dispatched")
        if order:
            self._act(order, "sign", {})

    @task(2)
    def reply(self) -> None:
        order = self._pick("in_progress")
        if order:
            self._act(order, "reply", {"text": "已现场核实并处理完毕，感谢您的反映。"})


class Resident(FastHttpUser):
    weight = 2
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        n = next(_counter)
        people = SEED["residents"]
        self.me = people[(os.getpid() * 7919 + n) % len(people)]
        self.rng = random.Random(os.getpid() * 1000 + n + 13)
        self.cookie = f"csrftoken={CSRF}"
        self.signed_in = self._sign_in()

    def _sign_in(self) -> bool:
        token, phone = self.me["token"], self.me["phone"]
        self.client.get(f"/r/{token}/", name="resident: code landing")
        before = SMS_FILE.stat().st_size if SMS_FILE.exists() else 0
        with self.client.post("/api/v1/residents/login/code", json={"token": token, "phone": phone},
                              name="resident: SMS code", catch_response=True) as resp:
            if resp.status_code != 202:
                resp.failure(_why(resp))
                return False
        code = None
        deadline = time.monotonic() + 10
        while code is None and time.monotonic() < deadline:
            if SMS_FILE.exists():
                with SMS_FILE.open("rb") as f:
                    f.seek(before)
                    for line in f.read().decode(errors="replace").splitlines():
                        if line.startswith(phone + "\t"):
                            found = re.search(r"验证码是 (\d{6})", line)
                            code = found.group(1) if found else code
            if code is None:
                time.sleep(0.1)
        if code is None:
            return False
        with self.client.post("/api/v1/residents/login", json={"token": token, "phone": phone, "code": code},
                              name="resident: sign in", catch_response=True) as resp:
            cookie = re.search(r"tx_resident=([^;]+)", (resp.headers or {}).get("Set-Cookie", "") or "")
            if resp.status_code != 200 or cookie is None:
                resp.failure(_why(resp))
                return False
        self.cookie = f"tx_resident={cookie.group(1)}; csrftoken={CSRF}"
        return True

    @task(3)
    def report(self) -> None:
        if not self.signed_in:
            self.signed_in = self._sign_in()
            return
        # A tag unique to this request (process and sequence): the fault script finds by it the one work
        # order a 201-answered report must end as, whether the order is made in the request or later by a
        # worker from a receipt (see load.world.verify).
        tag = f"{os.getpid()}-{next(_report_seq)}"
        text = f"{self.rng.choice(PROBLEMS)}（随手拍 #{tag}）"
        body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="content"\r\n\r\n{text}\r\n'
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nhelp\r\n--{BOUNDARY}--\r\n').encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Cookie": self.cookie,
                   "X-CSRFToken": CSRF}
        with self.client.post("/api/v1/residents/reports", data=body, headers=headers, name="resident: report",
                              catch_response=True) as resp:
            if resp.status_code == 201:
                answer = resp.json()
                ack("report", id=answer.get("id"), receipt=answer.get("receipt"), number=answer.get("number"), tag=tag)
            else:
                resp.failure(_why(resp))

    @task(3)
    def my_requests(self) -> None:
        if self.signed_in:
            self.client.get("/api/v1/residents/requests", headers={"Cookie": self.cookie}, name="resident: my requests")

    @task(1)
    def board(self) -> None:
        self.client.get("/api/v1/residents/board", name="resident: board")
