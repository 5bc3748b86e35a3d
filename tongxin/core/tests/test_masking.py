"""Masking of personal data: what stays visible, and that a masked value never reveals more than it should."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxin.core.masking import mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"),
    (" 13812345678 ", "138****5678"),
    ("+8613812345678", "+86*******5678"),
    ("0477-8123456", "047*****3456"),
    ("8123456", "***3456"),  # a local landline: the last four only
    ("12345", "***45"),
    ("12", "12"),
    ("1", "1"),
    ("", ""),
    (None, ""),
])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@given(st.text(alphabet="0123456789-+", min_size=1, max_size=20))
def test_a_masked_phone_keeps_its_length_and_hides_the_middle(phone):
    masked = mask_phone(phone)
    value = phone.strip()
    assert len(masked) == len(value)
    visible = sum(ch != "*" for ch in masked)
    if len(value) >= 11:
        assert masked[:3] == value[:3] and masked[-4:] == value[-4:] and set(masked[3:-4]) == {"*"}
    elif len(value) >= 7:
        assert masked[-4:] == value[-4:] and set(masked[:-4]) == {"*"}
    else:
        assert visible <= 2
    # Never more than 7 characters shown, and at least four hidden once the value is long enough to matter.
    assert visible <= 7
    if len(value) >= 7:
        assert masked.count("*") >= 3


@pytest.mark.parametrize(("value", "masked"), [
    ("15060219900101123X", "150*************3X"),
    ("150602199001011234", "150*************34"),
    ("123456", "123*56"),
    ("12345", "*****"),
    ("", ""),
    (None, ""),
])
def test_mask_id_number(value, masked):
    assert mask_id_number(value) == masked
    assert len(mask_id_number(value)) == len((value or "").strip())


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张*"),
    ("欧阳娜娜", "欧***"),
    ("王", "王"),
    (" 李四 ", "李*"),
    ("Alice", "A****"),
    ("", ""),
    (None, ""),
])
def test_mask_name(name, masked):
    assert mask_name(name) == masked
