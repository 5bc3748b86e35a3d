"""The residents' services say their errors in the active language (the request's, docs/i18n.md): the
same call in English and in Chinese gives the English and the Chinese reason under the same code and
field."""

from __future__ import annotations

import pytest
from django.utils import translation

from tongxin.core.errors import Conflict, ValidationFailed
from tongxin.residents import services

from .conftest import PHONE, last_sms_code

pytestmark = pytest.mark.django_db


def _error(call, language: str):
    with translation.override(language), pytest.raises((ValidationFailed, Conflict)) as err:
        call()
    return err.value


def test_a_malformed_login_code_in_english_and_chinese(place):
    def verify():
        services.login_code_verify(place=place.household, phone=PHONE, code="12ab", ip="10.0.0.9")

    english, chinese = _error(verify, "en"), _error(verify, "zh-hans")
    assert english.code == chinese.code == "validation_error"
    assert english.fields == {"code": "Please enter the 6-digit code"}
    assert chinese.fields == {"code": "请输入 6 位数字验证码"}


def test_a_wrong_login_code_counts_down_in_english(place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the SMS leaves after the commit
        services.login_code_request(place=place.household, phone=PHONE, ip="10.0.0.8")
    wrong = "000000" if last_sms_code(PHONE) != "000000" else "111111"
    english = _error(lambda: services.login_code_verify(place=place.household, phone=PHONE, code=wrong, ip="10.0.0.8"),
                     "en")
    assert english.code == "validation_error"
    assert english.message.startswith("Wrong code; ") and english.message.endswith(" attempts left"), english.message
    assert english.fields == {"code": english.message}


def test_a_revoked_code_answers_in_english(place):
    services.code_revoke(place=place.household)
    english = _error(lambda: services.code_token(place.household), "en")
    chinese = _error(lambda: services.code_token(place.household), "zh-hans")
    assert english.code == chinese.code == "code_revoked"
    assert english.message == "This QR code has been disabled; please generate a new one first"
    assert chinese.message == "该二维码已停用，请先重新生成"
