"""The staff sign-in: lockout counted in the database, audited; the TOTP second factor (RFC 6238) with
enrolment, replay refusal and recovery codes; the admin's own login form closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from tongxin.accounts import security
from tongxin.accounts.choices import Role
from tongxin.accounts.models import LoginFailure, RecoveryCode, RoleAssignment, TotpDevice
from tongxin.core import totp
from tongxin.core.models import AuditEvent
from tongxin.regions.choices import AreaLevel
from tongxin.regions.services import area_upsert
from tongxin.testing import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hashing_and_fresh_cache(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TONGXIN_LOGIN_MAX_FAILURES = 5
    settings.TONGXIN_LOGIN_MAX_FAILURES_PER_IP = 20
    settings.TONGXIN_LOGIN_WINDOW_SECONDS = 900
    settings.TONGXIN_LOGIN_LOCK_SECONDS = 900
    settings.TONGXIN_TOTP_REQUIRED_ROLES = ["admin", "superuser"]  # the production default
    cache.clear()
    yield
    cache.clear()


def sign_in(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password, "next": "/orders/"},
                       REMOTE_ADDR=ip)


# --- RFC 6238 ---------------------------------------------------------------------------------------

def test_totp_matches_the_rfc_6238_test_vectors():
    # Appendix B, SHA-1, secret "12345678901234567890"; 8-digit values, whose last 6 digits are the 6-digit code.
    import base64

    secret = base64.b32encode(b"12345678901234567890").decode()
    for at, expected in [(59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924"),
                         (2000000000, "69279037"), (20000000000, "65353130")]:
        assert totp.hotp(secret, totp.step_at(at), digits=8) == expected
        assert totp.code_at(secret, at) == expected[-6:]


def test_totp_verify_window_and_replay():
    secret = totp.new_secret()
    now = 1_700_000_000
    code = totp.code_at(secret, now)
    step = totp.verify(secret, code, at=now)
    assert step == totp.step_at(now)
    assert totp.verify(secret, totp.code_at(secret, now - 30), at=now) == step - 1  # a clock 30 s behind
    assert totp.verify(secret, totp.code_at(secret, now - 90), at=now) is None
    assert totp.verify(secret, code, at=now, after_step=step) is None  # the same code twice
    assert totp.verify(secret, "12345", at=now) is None
    assert totp.verify(secret, "abcdef", at=now) is None
    uri = totp.provisioning_uri(secret, account="admin", issuer="同心")
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri


# --- lockout ----------------------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_name_even_with_the_right_one():
    make_user("clerk1")
    client = Client()
    for _ in range(4):
        response = sign_in(client, "clerk1", "wrong-password")
        assert response.status_code == 200
        assert "用户名或密码不正确" in response.content.decode()
    response = sign_in(client, "clerk1", "wrong-password")
    assert response.status_code == 429
    assert "已被暂时锁定" in response.content.decode()
    response = sign_in(Client(), "clerk1", PASSWORD, ip="10.9.9.9")  # another address: the name is locked
    assert response.status_code == 429
    assert "_auth_user_id" not in Client().session
    assert LoginFailure.objects.filter(username="clerk1").count() == 5  # attempts while locked are not counted
    assert AuditEvent.objects.filter(event_type="login_failed", object_id="clerk1").count() == 5
    assert AuditEvent.objects.filter(event_type=security.SecurityEvent.LOGIN_LOCKED, object_id="clerk1").count() == 1
    # Case does not make a new name to guess under.
    assert sign_in(Client(), "CLERK1", PASSWORD, ip="10.9.9.8").status_code == 429


def test_the_lock_ends_and_a_success_forgives_the_name():
    user = make_user("clerk2")
    past = timezone.now() - timedelta(minutes=31)
    for minute in range(5):
        security.login_failure_record(username="clerk2", ip="10.0.0.2", reason="password",
                                      now=past + timedelta(minutes=minute))
    assert security.login_locked_until(username="clerk2", ip="10.0.0.3") is None  # 15 min after the 5th
    response = sign_in(Client(), "clerk2", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/orders/"
    assert not LoginFailure.objects.filter(username="clerk2").exists()
    assert user.pk


def test_failures_spread_beyond_the_window_do_not_lock():
    make_user("clerk3")
    start = timezone.now() - timedelta(hours=3)
    for index in range(8):  # one every 20 minutes: never 5 within 15 minutes
        security.login_failure_record(username="clerk3", ip=f"10.1.0.{index}", reason="password",
                                      now=start + timedelta(minutes=20 * index))
    assert security.login_locked_until(username="clerk3", ip="10.1.0.99") is None


def test_one_address_guessing_many_names_is_locked(settings):
    settings.TONGXIN_LOGIN_MAX_FAILURES_PER_IP = 3
    make_user("victim")
    for name in ("a1", "a2", "a3"):
        sign_in(Client(), name, "x", ip="10.6.6.6")
    assert sign_in(Client(), "victim", PASSWORD, ip="10.6.6.6").status_code == 429
    assert sign_in(Client(), "victim", PASSWORD, ip="10.7.7.7").status_code == 302  # the name itself is not locked


def test_the_count_lives_in_the_database_not_in_one_process():
    make_user("clerk4")
    for _ in range(5):
        sign_in(Client(), "clerk4", "bad")
    cache.clear()  # another worker: nothing in its memory
    assert security.login_locked_until(username="clerk4", ip="10.5.5.5") is not None


def test_admin_login_form_is_closed():
    response = Client().get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    assert Client().post("/admin/login/", {"username": "x", "password": "y"}).status_code == 302


def test_a_signed_in_user_without_access_to_the_admin_sees_why_not_a_loop():
    client = Client()
    client.force_login(make_user("plain"))
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403 and len(response.redirect_chain) == 2
    assert "无权访问该页面" in response.content.decode()
    assert client.get("/accounts/login/").status_code == 302  # without a target: home


def test_open_redirect_is_refused():
    make_user("clerk5")
    response = Client().post("/accounts/login/", {"username": "clerk5", "password": PASSWORD,
                                                   "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


# --- second factor --------------------------------------------------------------------------------

def _enrol(user) -> tuple[str, list[str]]:
    device = security.totp_enrol_begin(user=user)
    codes = security.totp_enrol_confirm(user=user, code=totp.code_at(device.secret, None))
    # The next sign-in must not reuse the step the confirmation used.
    TotpDevice.objects.filter(pk=device.pk).update(last_step=totp.step_at() - 2)
    return device.secret, codes


def test_enrolled_user_needs_the_code_after_the_password():
    user = make_user("handler1")
    secret, _codes = _enrol(user)
    client = Client()
    response = sign_in(client, "handler1", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/verify/"
    assert "_auth_user_id" not in client.session  # not signed in yet
    assert client.get("/orders/").status_code == 302
    page = client.get("/accounts/login/verify/")
    assert "验证器应用" in page.content.decode()
    wrong = client.post("/accounts/login/verify/", {"code": "000000"})
    assert wrong.status_code == 200 and "验证码不正确" in wrong.content.decode()
    assert LoginFailure.objects.filter(username="handler1").count() == 1
    code = totp.code_at(secret)
    response = client.post("/accounts/login/verify/", {"code": code})
    assert response.status_code == 302 and response["Location"] == "/orders/"
    assert client.get("/orders/").status_code == 200
    assert not LoginFailure.objects.filter(username="handler1").exists()
    # The same code again (a replay from a second browser) is refused. It is the code already used, not
    # one recomputed now: a fresh one may belong to the next 30-second step, which is rightly accepted.
    other = Client()
    sign_in(other, "handler1", PASSWORD)
    assert other.post("/accounts/login/verify/", {"code": code}).status_code == 200
    assert "_auth_user_id" not in other.session


def test_wrong_codes_count_toward_the_lock():
    user = make_user("handler2")
    _enrol(user)
    client = Client()
    sign_in(client, "handler2", PASSWORD)
    for _ in range(4):
        client.post("/accounts/login/verify/", {"code": "000000"})
    response = client.post("/accounts/login/verify/", {"code": "000000"})
    assert response.status_code == 429 and "已被暂时锁定" in response.content.decode()
    assert client.get("/accounts/login/verify/").status_code == 302  # the half-done sign-in is dropped


def test_recovery_code_works_once():
    user = make_user("handler3")
    _secret, codes = _enrol(user)
    assert len(codes) == 10 and RecoveryCode.objects.filter(user=user).count() == 10
    assert not RecoveryCode.objects.filter(digest__icontains=codes[0].replace("-", "")).exists()  # digests only
    client = Client()
    sign_in(client, "handler3", PASSWORD)
    assert client.post("/accounts/login/verify/", {"code": codes[0].lower()}).status_code == 302
    again = Client()
    sign_in(again, "handler3", PASSWORD)
    assert again.post("/accounts/login/verify/", {"code": codes[0]}).status_code == 200
    assert AuditEvent.objects.filter(event_type=security.SecurityEvent.RECOVERY_CODE_USED).count() == 1


def test_admin_role_must_enrol_before_the_first_session(world):
    client = Client()
    response = sign_in(client, "admin", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/accounts/totp/setup/"
    assert "_auth_user_id" not in client.session
    page = client.get("/accounts/totp/setup/")
    body = page.content.decode()
    assert page.status_code == 200 and "<svg" in body and "您的角色要求使用双重验证" in body
    secret = TotpDevice.objects.get(user=world.user("admin")).secret
    assert client.post("/accounts/totp/setup/", {"code": "123"}).status_code == 200
    assert "_auth_user_id" not in client.session
    done = client.post("/accounts/totp/setup/", {"code": totp.code_at(secret)})
    assert done.status_code == 200 and "恢复码只显示这一次" in done.content.decode()
    assert client.session["_auth_user_id"] == str(world.user("admin").pk)
    assert AuditEvent.objects.filter(event_type=security.SecurityEvent.TOTP_ENABLED).count() == 1
    # Roles outside the list sign in with the password alone.
    assert sign_in(Client(), "operator", PASSWORD).status_code == 302
    assert not RoleAssignment.objects.filter(user=world.user("operator"), role=Role.ADMIN).exists()


def test_enrolled_device_cannot_be_replaced_by_a_session():
    user = make_user("handler4")
    _enrol(user)
    client = Client()
    client.force_login(user)
    page = client.get("/accounts/totp/setup/")
    assert page.status_code == 200 and "已启用双重验证" in page.content.decode()
    with pytest.raises(Exception, match="已启用双重验证"):
        security.totp_enrol_begin(user=user)
    other = make_user("someone")
    with pytest.raises(Exception, match="只有管理员"):
        security.totp_disable(user=user, actor=other)
    security.totp_disable(user=user, actor=user)
    assert not TotpDevice.objects.filter(user=user).exists()


def test_voluntary_enrolment_of_a_signed_in_user():
    area = area_upsert(code="150600", name="测试市", level=AreaLevel.CITY, parent=None)
    user = make_user("leader9")
    RoleAssignment.objects.create(user=user, role=Role.LEADER, area=area)
    client = Client()
    client.force_login(user)
    client.get("/accounts/totp/setup/")
    secret = TotpDevice.objects.get(user=user).secret
    assert client.post("/accounts/totp/setup/", {"code": totp.code_at(secret)}).status_code == 200
    assert security.totp_enabled(user)
