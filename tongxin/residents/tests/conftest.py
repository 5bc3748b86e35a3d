"""Fixtures of the residents tests: the test world, the channel owner, a household with two residents,
a second household, a merchant; photo makers; and the browser harness re-exported from the web tests."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tongxin.core.sms import LoggingSmsBackend
from tongxin.residents import services
from tongxin.residents.models import Household, Merchant, Resident
from tongxin.testing import World

PHONE = "13900001111"
OTHER_PHONE = "13900002222"
ID_NUMBER = "150602199001011238"  # a valid check digit


@dataclass
class Place:
    world: World
    owner: Any
    household: Household
    resident: Resident
    other_household: Household
    other_resident: Resident
    merchant: Merchant

    @property
    def token(self) -> str:
        return services.code_token(self.household)


@pytest.fixture(autouse=True)
def _fresh_cache_and_outbox():
    cache.clear()
    LoggingSmsBackend.outbox.clear()
    services._owner_cache.clear()  # the channel owner of a rolled-back test must not be remembered
    yield
    cache.clear()
    services._owner_cache.clear()


@pytest.fixture
def task_mode(settings, monkeypatch):
    """Task mode (ADR 0010) with the enqueue recorded instead of sent: the task is lost unless a test
    runs it, and each test sees exactly what the request scheduled."""
    settings.TONGXIN_REPORT_REGISTER = "task"
    scheduled: list[int] = []
    monkeypatch.setattr(services, "_schedule_register", scheduled.append)
    return scheduled


def make_place(world: World) -> Place:
    owner = services.channel_owner_ensure(area=world.city)
    household = services.household_create(area=world.community_a, grid=world.grid_a, address="甲社区幸福小区3号楼2单元101",
                                          building="3号楼", unit="2单元", room="101", floor_area="89.50")
    resident = services.resident_add(household=household, name="王小明", phone=PHONE, id_number=ID_NUMBER)
    other = services.household_create(area=world.community_a, grid=world.grid_a, address="甲社区幸福小区3号楼2单元102", building="3号楼",
                                      unit="2单元", room="102", floor_area=75)
    other_resident = services.resident_add(household=other, name="李四", phone=OTHER_PHONE)
    merchant = services.merchant_create(name="小王便利店", address="甲社区商业街8号", area=world.community_a,
                                        licence_number="91150602MA0000000X", contact_name="王店长",
                                        contact_phone="13900003333")
    return Place(world=world, owner=owner, household=household, resident=resident, other_household=other,
                 other_resident=other_resident, merchant=merchant)


@pytest.fixture
def place(world: World) -> Place:
    return make_place(world)


def jpeg_bytes(size: tuple[int, int] = (64, 48), *, gps: tuple[float, float] | None = None, colour: str = "red") -> bytes:
    """A small JPEG; ``gps`` = (lng, lat) written as EXIF GPS tags (plus a camera model tag)."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x0110] = "TestPhone 1"  # Model
    if gps is not None:
        lng, lat = gps

        def dms(value: float) -> tuple[float, float, float]:
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
            return (float(degrees), float(minutes), seconds)

        ifd = exif.get_ifd(0x8825)
        ifd.update({1: "N", 2: dms(lat), 3: "E", 4: dms(lng)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def last_sms_code(phone: str) -> str:
    import re

    for message in reversed(LoggingSmsBackend.outbox):
        if message.phone == phone:
            match = re.search(r"验证码是 (\d{6})", message.text)
            assert match
            return match.group(1)
    raise AssertionError(f"no SMS to {phone}")
