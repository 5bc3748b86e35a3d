"""SMS is the one thing that leaves the machine: a small pluggable interface.

A real gateway implements ``SmsBackend.send`` and is named in TONGXIN_SMS_BACKEND (dotted path).
The default logs the message and keeps it in ``LoggingSmsBackend.outbox`` so tests and the demo can
read it.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from .masking import mask_phone

logger = logging.getLogger("tongxin.sms")


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str


class SmsBackend:
    def send(self, *, phone: str, text: str) -> None:
        raise NotImplementedError


class LoggingSmsBackend(SmsBackend):
    # The latest messages only: a long-running process must not grow without bound.
    outbox: deque[SmsMessage] = deque(maxlen=1000)

    def send(self, *, phone: str, text: str) -> None:
        # The log never carries the full number.
        logger.info("SMS to %s: %s", mask_phone(phone), text)
        self.outbox.append(SmsMessage(phone=phone, text=text))


@lru_cache(maxsize=1)
def get_sms_backend() -> SmsBackend:
    return import_string(settings.TONGXIN_SMS_BACKEND)()
