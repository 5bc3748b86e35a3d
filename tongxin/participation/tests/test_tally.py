"""Civil Code Art. 278 tally: property tests (hypothesis) against an independent integer restatement of
the law, exact boundaries, monotonicity, and the counts of real votes through the services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tongxin.participation import selectors, services
from tongxin.participation.tally import Counts, art278_verdict, percent

from .conftest import open_topic, option_id, property_input

# Areas in hundredths of a m², so that the restatement below stays in integers.
cents = st.integers(min_value=1, max_value=10_000_000)


@st.composite
def counts(draw):
    total_owners = draw(st.integers(min_value=1, max_value=500))
    voted_owners = draw(st.integers(min_value=0, max_value=total_owners))
    yes_owners = draw(st.integers(min_value=0, max_value=voted_owners))
    total = draw(cents)
    voted = draw(st.integers(min_value=0, max_value=total))
    yes = draw(st.integers(min_value=0, max_value=voted))
    return Counts(total_owners=total_owners, total_area=Decimal(total) / 100, voted_owners=voted_owners,
                  voted_area=Decimal(voted) / 100, yes_owners=yes_owners, yes_area=Decimal(yes) / 100)


@st.composite
def high_counts(draw):
    """Counts near and above the thresholds (so that many of them pass)."""
    total_owners = draw(st.integers(min_value=1, max_value=500))
    voted_owners = draw(st.integers(min_value=(2 * total_owners + 2) // 3, max_value=total_owners))
    yes_owners = draw(st.integers(min_value=(3 * voted_owners + 3) // 4, max_value=voted_owners))
    total = draw(cents)
    voted = draw(st.integers(min_value=(2 * total + 2) // 3, max_value=total))
    yes = draw(st.integers(min_value=(3 * voted + 3) // 4, max_value=voted))
    return Counts(total_owners=total_owners, total_area=Decimal(total) / 100, voted_owners=voted_owners,
                  voted_area=Decimal(voted) / 100, yes_owners=yes_owners, yes_area=Decimal(yes) / 100)


def cents_of(value: Decimal) -> int:
    return int(value * 100)


def law(c: Counts, major: bool) -> bool:
    """Art. 278 in cross-multiplied integers (以上 includes the bound; 过半数 does not)."""
    ta, va, ya = cents_of(c.total_area), cents_of(c.voted_area), cents_of(c.yes_area)
    quorum = 3 * va >= 2 * ta and 3 * c.voted_owners >= 2 * c.total_owners
    if major:
        approve = 4 * ya >= 3 * va and 4 * c.yes_owners >= 3 * c.voted_owners
    else:
        approve = 2 * ya > va and 2 * c.yes_owners > c.voted_owners
    return quorum and approve and c.voted_owners > 0 and va > 0


@given(st.one_of(counts(), high_counts()), st.booleans())
def test_passes_iff_both_thresholds_hold(c, major):
    verdict = art278_verdict(c, major=major)
    assert verdict.passed == law(c, major)
    assert verdict.summary.startswith("表决通过" if verdict.passed else "表决未通过")
    assert len(verdict.reasons) == 4


@given(st.one_of(counts(), high_counts()), st.booleans(), st.integers(min_value=1, max_value=50),
       st.integers(min_value=1, max_value=100_000))
def test_monotonic_in_added_yes_votes(c, major, owners, area_cents):
    """Adding yes voters (new exclusive parts that vote yes) never makes a passing decision fail."""
    assume(art278_verdict(c, major=major).passed)
    more = Counts(total_owners=c.total_owners + owners, total_area=c.total_area + Decimal(area_cents) / 100,
                  voted_owners=c.voted_owners + owners, voted_area=c.voted_area + Decimal(area_cents) / 100,
                  yes_owners=c.yes_owners + owners, yes_area=c.yes_area + Decimal(area_cents) / 100)
    # Adding yes voters who were not counted before: quorum ratios and yes ratios both rise or stay.
    assert art278_verdict(more, major=major).passed


@given(counts(), st.booleans())
def test_converting_a_no_into_a_yes_never_hurts(c, major):
    assume(c.yes_owners < c.voted_owners)
    before = art278_verdict(c, major=major).passed
    after = art278_verdict(Counts(c.total_owners, c.total_area, c.voted_owners, c.voted_area, c.yes_owners + 1,
                                  c.yes_area), major=major).passed
    assert after >= before


@given(counts())
def test_major_is_stricter_than_ordinary(c):
    if art278_verdict(c, major=True).passed and c.yes_owners * 2 != c.voted_owners:
        # 3/4 implies more than 1/2 except in degenerate zero cases
        assert art278_verdict(c, major=False).passed


def _c(total_owners, total_area, voted_owners, voted_area, yes_owners, yes_area):
    return Counts(total_owners, Decimal(total_area), voted_owners, Decimal(voted_area), yes_owners, Decimal(yes_area))


def test_boundaries_exactly():
    # Quorum exactly two-thirds of both: met ("以上" includes the number).
    assert art278_verdict(_c(3, "300", 2, "200", 2, "200"), major=False).quorum
    # A hundredth of a m² short of two-thirds: not met (exact arithmetic, no float rounding).
    v = art278_verdict(_c(3, "300.01", 2, "200", 2, "200"), major=False)
    assert not v.quorum_area and v.quorum_owners and not v.passed
    assert "专有部分面积未达到三分之二" in v.summary
    # Exactly half of the participants: not more than half, fails an ordinary matter.
    v = art278_verdict(_c(4, "400", 4, "400", 2, "200"), major=False)
    assert v.quorum and not v.passed and "面积和人数未达到参与表决的过半数" in v.summary
    assert art278_verdict(_c(4, "400", 4, "400", 2, "200.01"), major=False).approve_area
    # Exactly three-quarters: met for a major matter; a hair below: not.
    assert art278_verdict(_c(4, "400", 4, "400", 3, "300"), major=True).passed
    v = art278_verdict(_c(4, "400", 4, "400", 3, "299.99"), major=True)
    assert not v.passed and "同意的面积未达到参与表决的四分之三以上" in v.summary
    # Nobody voted, or an empty scope: nothing passes.
    assert not art278_verdict(_c(4, "400", 0, "0", 0, "0"), major=False).passed
    assert not art278_verdict(_c(0, "0", 0, "0", 0, "0"), major=False).passed


def test_inconsistent_counts_are_refused():
    for bad in (_c(3, "300", 4, "300", 0, "0"), _c(3, "300", 2, "301", 0, "0"), _c(3, "300", 2, "200", 3, "0"),
                _c(3, "300", 2, "200", 1, "201")):
        with pytest.raises(ValueError):
            art278_verdict(bad, major=False)


def test_percent_display():
    from fractions import Fraction

    assert percent(Fraction(2, 3)) == "66.67%"
    assert percent(Fraction(1, 8)) == "12.50%"
    assert percent(Fraction(1)) == "100.00%"


@pytest.mark.django_db
def test_results_of_real_votes(world, estate):
    """Four households (90, 60, 120.5, 80 m²; total 350.5): three owners vote (260.5 m² = 74.32%, 3 of 4 =
    75%: quorum met); two approve (200.5 m² = 76.97% of 260.5, but 2 of 3 = 66.67% by headcount)."""
    topic = open_topic(world, property_input(estate, matter="item6"))  # raising the fund: a major matter
    yes, no = option_id(topic, "approve"), option_id(topic, "reject")
    services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[2], option_ids=[yes])  # 120.5
    services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[3], option_ids=[yes])  # 80
    services.topic_vote_cast(topic_id=topic.pk, resident=estate.owners[1], option_ids=[no])  # 60
    results = selectors.topic_results(topic=topic)
    assert (results.electors, results.electors_area, results.voted, results.voted_area) == (4, Decimal("350.50"), 3,
                                                                                             Decimal("260.50"))
    assert results.turnout == "75.00%"
    v = results.verdict
    assert v.quorum and v.approve_area and not v.approve_owners and not v.passed  # 2/3 < 3/4 by headcount
    assert v.summary == "表决未通过：同意的人数未达到参与表决的四分之三以上（含本数）。"
    assert v.reasons[2] == "同意的专有部分面积 200.50㎡ / 参与表决面积 260.50㎡ = 76.97%，达到四分之三以上（含本数）"
    # As an ordinary matter the same votes pass.
    topic2 = open_topic(world, property_input(estate, title="选聘物业", matter="item4"))
    for owner, stance in ((estate.owners[2], "approve"), (estate.owners[3], "approve"), (estate.owners[1], "reject")):
        services.topic_vote_cast(topic_id=topic2.pk, resident=owner, option_ids=[option_id(topic2, stance)])
    assert selectors.topic_results(topic=topic2).verdict.passed
