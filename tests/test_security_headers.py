"""Rate limits on the public doors (tongxin.core.ratelimit), the security headers, the CSP, and
``tongxin check --deploy`` with production settings."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from tongxin.core import ratelimit

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_budget_parsing():
    assert ratelimit.parse_budget("10/600") == (10, 600)
    for bad in ("10", "0/60", "ten/60", "10/0"):
        with pytest.raises(ValueError):
            ratelimit.parse_budget(bad)


@pytest.mark.django_db
def test_sms_code_requests_answer_429_in_the_api_shape(settings):
    settings.TONGXIN_RATE_LIMIT_RESIDENT_CODE = "3/600"
    client = Client()
    statuses = []
    for index in range(5):
        response = client.post("/api/v1/residents/login/code",
                               json.dumps({"token": "x" * 20, "phone": f"1390000{index:04d}"}),
                               content_type="application/json", REMOTE_ADDR="10.2.0.1")
        statuses.append(response.status_code)
    assert statuses[:3] != [429, 429, 429] and statuses[3:] == [429, 429]
    body = response.json()
    assert body["code"] == "rate_limited" and set(body) == {"code", "message", "fields"}
    assert "秒后再试" in body["message"]
    assert int(response["Retry-After"]) >= 1
    # Another address has its own budget.
    other = client.post("/api/v1/residents/login/code", json.dumps({"token": "x" * 20, "phone": "13900009999"}),
                        content_type="application/json", REMOTE_ADDR="10.2.0.2")
    assert other.status_code != 429


@pytest.mark.django_db
def test_resident_report_page_answers_a_chinese_page(settings):
    settings.TONGXIN_RATE_LIMIT_RESIDENT_REPORT = "1/3600"
    client = Client()
    client.post("/r/report/", {}, REMOTE_ADDR="10.3.0.1")
    response = client.post("/r/report/", {}, REMOTE_ADDR="10.3.0.1")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert "请求过于频繁" in response.content.decode()


@pytest.mark.django_db
def test_open311_answers_in_its_own_error_shape(settings):
    settings.TONGXIN_RATE_LIMIT_OPEN311_READ = "2/60"
    client = Client()
    for _ in range(2):
        assert client.get("/open311/v2/discovery.json", REMOTE_ADDR="10.4.0.1").status_code == 200
    response = client.get("/open311/v2/discovery.json", REMOTE_ADDR="10.4.0.1")
    assert response.status_code == 429
    assert response.json()[0]["code"] == 429
    xml = client.get("/open311/v2/services.xml", REMOTE_ADDR="10.4.0.1")
    assert xml.status_code == 429 and b"<errors><error><code>429</code>" in xml.content


@pytest.mark.django_db
def test_limits_can_be_switched_off_and_the_proxy_header_is_trusted_only_when_named(settings):
    settings.TONGXIN_RATE_LIMIT_OPEN311_READ = "1/60"
    client = Client()
    client.get("/open311/v2/discovery.json", REMOTE_ADDR="10.8.0.1", HTTP_X_REAL_IP="1.1.1.1")
    # Not trusted: a forged header does not buy a new budget.
    assert client.get("/open311/v2/discovery.json", REMOTE_ADDR="10.8.0.1",
                      HTTP_X_REAL_IP="2.2.2.2").status_code == 429
    settings.TONGXIN_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    assert client.get("/open311/v2/discovery.json", REMOTE_ADDR="10.8.0.1",
                      HTTP_X_REAL_IP="3.3.3.3").status_code == 200
    settings.TONGXIN_RATE_LIMITS_ENABLED = False
    for _ in range(3):
        assert client.get("/open311/v2/discovery.json", REMOTE_ADDR="10.8.0.1",
                          HTTP_X_REAL_IP="3.3.3.3").status_code == 200


def _strict(policy: str) -> bool:
    return ("script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
            and "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy)


@pytest.mark.django_db
def test_security_headers_and_csp():
    client = Client()
    page = client.get("/accounts/login/")
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "same-origin"
    assert "microphone=()" in page["Permissions-Policy"]
    assert _strict(page["Content-Security-Policy"])  # enforced (docs/security.md)
    assert "Content-Security-Policy-Report-Only" not in page
    api = client.get("/api/v1/work-orders")
    assert _strict(api["Content-Security-Policy"])
    assert _strict(client.get("/api/v1/docs")["Content-Security-Policy"])  # Ninja's docs page: our static files


@pytest.mark.django_db
def test_the_policy_is_enforced_on_a_page_of_every_area(world):
    from tongxin.accounts.models import User
    from tongxin.mediation.tests.conftest import build_mediation_world
    from tongxin.points.tests.conftest import make_town
    from tongxin.residents import services as residents
    from tongxin.testing import make_user

    build_mediation_world(world)
    make_town(world)
    make_user("root", superuser=True)
    residents.channel_owner_ensure(area=world.city)
    household = residents.household_create(area=world.community_a, grid=world.grid_a, address="甲社区1号楼101")
    pages = [("leader", "/"), ("operator", "/orders/"), (None, f"/r/{residents.code_token(household)}/"),
             ("leader", "/dashboard/"), ("leader", "/dashboard/screen/"), ("grid_worker", "/grid/"),
             ("grid_worker", "/participation/"), ("supervisor_a", "/points/"), ("m_comm", "/mediation/"),
             ("root", "/admin/"), (None, "/r/board/"), (None, "/healthz")]
    for username, path in pages:
        client = Client()
        if username:
            client.force_login(User.objects.get(username=username))
        response = client.get(path)
        assert response.status_code == 200, (username, path, response.status_code)
        assert _strict(response["Content-Security-Policy"]), path
        assert "Content-Security-Policy-Report-Only" not in response, path


@pytest.mark.django_db
def test_report_only_and_exemptions_are_operators_options(settings):
    client = Client()
    settings.TONGXIN_CSP_REPORT_ONLY_PREFIXES = ["/accounts/"]
    trial = client.get("/accounts/login/")
    assert _strict(trial["Content-Security-Policy-Report-Only"]) and "Content-Security-Policy" not in trial
    assert "Content-Security-Policy" in client.get("/healthz")  # elsewhere still enforced
    settings.TONGXIN_CSP_REPORT_ONLY_PREFIXES = []
    settings.TONGXIN_CSP_REPORT_ONLY = True
    assert "Content-Security-Policy-Report-Only" in client.get("/healthz")
    settings.TONGXIN_CSP_REPORT_ONLY = False
    settings.TONGXIN_CSP_EXEMPT_PREFIXES = ["/healthz"]
    exempt = client.get("/healthz")
    assert "Content-Security-Policy" not in exempt and "Content-Security-Policy-Report-Only" not in exempt
    assert "Content-Security-Policy" in client.get("/accounts/login/")


@pytest.mark.django_db
def test_uploaded_files_are_sandboxed():
    from tongxin.urls import urlpatterns

    media = next((p for p in urlpatterns if str(p.pattern).startswith("media/")), None)
    if media is None:
        pytest.skip("the application does not serve /media/ here (TONGXIN_SERVE_MEDIA off: nginx does, docs/deploy.md)")
    folder = Path(media.default_args["document_root"]) / f"test-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    (folder / "evil.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    try:
        response = Client().get(f"/media/{folder.name}/evil.svg")
    finally:
        (folder / "evil.svg").unlink()
        folder.rmdir()
    assert response.status_code == 200
    assert "sandbox" in response["Content-Security-Policy"] and "default-src 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def _deploy_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({"SECURE_PRODUCTION": "1", "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "12345.ordos.gov.cn", "DJANGO_SETTINGS_MODULE": "tongxin.settings",
                # Production keeps its data keys outside the database (docs/configuration.md).
                "TONGXIN_DATA_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()}, **extra)
    return env


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=_deploy_env(), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_cookies_and_hsts():
    code = ("from django.conf import settings as s; import json; print(json.dumps([s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_NAME, "
            "s.SESSION_COOKIE_HTTPONLY, s.TONGXIN_TOTP_REQUIRED_ROLES]))")
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT,
                            env=_deploy_env(), capture_output=True, text=True, timeout=120, check=False)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, True, 31536000, True, "__Host-sessionid", True,
                                                                ["admin", "superuser"]]
