"""Masking of personal data (PIPL): phones, ID numbers, names. Masked is the default everywhere."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """13812345678 -> 138****5678; 7 to 10 characters (a local landline) keep their last four; short or
    odd values keep at most their last two characters."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) >= 7:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_id_number(id_number: str | None) -> str:
    """A resident ID (18 characters) keeps the first 3 and the last 2: 150***********123X -> 150*************3X."""
    if not id_number:
        return ""
    value = id_number.strip()
    if len(value) <= 5:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


def mask_name(name: str | None) -> str:
    """张三 -> 张*; 欧阳娜娜 -> 欧***; a Latin name keeps its first letter."""
    if not name:
        return ""
    value = name.strip()
    if len(value) <= 1:
        return value
    return value[0] + "*" * (len(value) - 1)
