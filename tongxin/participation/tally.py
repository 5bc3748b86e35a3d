"""The Civil Code Art. 278 count: pure, exact arithmetic (fractions; never a float threshold).

Art. 278 paragraph 2: a decision is voted on by owners holding **at least two-thirds** of the floor area
of the exclusive parts **and** at least two-thirds of the owners (the quorum, 双三分之二). An ordinary matter
(items 1–5 and 9) passes with **more than half** of the participating area **and** more than half of the
participating owners; the major matters of items 6–8 need **at least three-quarters** of both.
Art. 1259: "以上" includes the number itself, "过半数" (more than half) does not — so 2/3 and 3/4 are
met exactly at the boundary and 1/2 is not.

Who counts (see docs/participation.md): one owner per household (one 专有部分), weighted by its
registered floor area; the denominators are the households and the floor area of the scope, frozen when
the topic is opened. Abstentions take part (they count towards the quorum and the denominator of the
decision) but are not "yes".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

QUORUM = Fraction(2, 3)  # 三分之二以上: >=
ORDINARY = Fraction(1, 2)  # 过半数: >
MAJOR = Fraction(3, 4)  # 四分之三以上: >=


@dataclass(frozen=True)
class Counts:
    """The four numbers of an Art. 278 vote, plus its two denominators."""

    total_owners: int
    total_area: Decimal
    voted_owners: int
    voted_area: Decimal
    yes_owners: int
    yes_area: Decimal


@dataclass(frozen=True)
class Verdict:
    quorum_area: bool
    quorum_owners: bool
    approve_area: bool
    approve_owners: bool
    major: bool
    passed: bool
    summary: str  # one sentence, Chinese: passed or failed, and why
    reasons: tuple[str, ...]  # one line per test, Chinese

    @property
    def quorum(self) -> bool:
        return self.quorum_area and self.quorum_owners


def ratio(part: int | Decimal, whole: int | Decimal) -> Fraction:
    """part / whole exactly (0 when the whole is 0)."""
    if not whole:
        return Fraction(0)
    return Fraction(part) / Fraction(whole)


def percent(value: Fraction) -> str:
    """For people only (two decimals, half up); decisions never use this."""
    hundredths = (value * 10000 + Fraction(1, 2)).__floor__()
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def _check(counts: Counts) -> None:
    if counts.total_owners < 0 or counts.total_area < 0:
        raise ValueError("negative totals")
    if not (0 <= counts.yes_owners <= counts.voted_owners <= counts.total_owners):
        raise ValueError("owner counts out of order")
    if not (0 <= counts.yes_area <= counts.voted_area <= counts.total_area):
        raise ValueError("area counts out of order")


def art278_verdict(counts: Counts, *, major: bool) -> Verdict:
    """Whether a property-management decision passed, with the reasons in Chinese."""
    _check(counts)
    q_area = counts.total_area > 0 and ratio(counts.voted_area, counts.total_area) >= QUORUM
    q_owners = counts.total_owners > 0 and ratio(counts.voted_owners, counts.total_owners) >= QUORUM
    yes_area = ratio(counts.yes_area, counts.voted_area)
    yes_owners = ratio(counts.yes_owners, counts.voted_owners)
    if major:
        a_area = counts.voted_area > 0 and yes_area >= MAJOR
        a_owners = counts.voted_owners > 0 and yes_owners >= MAJOR
        need = _("四分之三以上（含本数）")
    else:
        a_area = counts.voted_area > 0 and yes_area > ORDINARY
        a_owners = counts.voted_owners > 0 and yes_owners > ORDINARY
        need = _("过半数（不含半数）")
    reasons = (
        _("参与表决的专有部分面积 %(part)s㎡ / 总面积 %(whole)s㎡ = %(pct)s，%(ok)s三分之二") % {
            "part": counts.voted_area, "whole": counts.total_area,
            "pct": percent(ratio(counts.voted_area, counts.total_area)), "ok": _("达到") if q_area else _("未达到")},
        _("参与表决的业主 %(part)s 人 / 总人数 %(whole)s 人 = %(pct)s，%(ok)s三分之二") % {
            "part": counts.voted_owners, "whole": counts.total_owners,
            "pct": percent(ratio(counts.voted_owners, counts.total_owners)), "ok": _("达到") if q_owners else _("未达到")},
        _("同意的专有部分面积 %(part)s㎡ / 参与表决面积 %(whole)s㎡ = %(pct)s，%(ok)s%(need)s") % {
            "part": counts.yes_area, "whole": counts.voted_area, "pct": percent(yes_area),
            "ok": _("达到") if a_area else _("未达到"), "need": need},
        _("同意的业主 %(part)s 人 / 参与表决人数 %(whole)s 人 = %(pct)s，%(ok)s%(need)s") % {
            "part": counts.yes_owners, "whole": counts.voted_owners, "pct": percent(yes_owners),
            "ok": _("达到") if a_owners else _("未达到"), "need": need},
    )
    passed = q_area and q_owners and a_area and a_owners
    if passed:
        summary = _("表决通过：参与表决的面积和人数均达到三分之二以上，同意的面积和人数均达到%(need)s。") % {"need": need}
    elif not (q_area and q_owners):
        missing = [label for ok, label in ((q_area, _("专有部分面积")), (q_owners, _("业主人数"))) if not ok]
        summary = _("表决未通过：参与表决的%(what)s未达到三分之二，表决不成立。") % {"what": _("和").join(missing)}
    else:
        missing = [label for ok, label in ((a_area, pgettext("floor area, in a sentence", "面积")), (a_owners, _("人数"))) if not ok]
        summary = _("表决未通过：同意的%(what)s未达到参与表决的%(need)s。") % {"what": _("和").join(missing), "need": need}
    return Verdict(quorum_area=q_area, quorum_owners=q_owners, approve_area=a_area, approve_owners=a_owners,
                   major=major, passed=passed, summary=summary, reasons=reasons)
