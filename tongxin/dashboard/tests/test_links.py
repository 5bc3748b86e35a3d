"""The screen's links: the hand-joined query string of ``orders_href`` says exactly what urlencode says."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin.dashboard.selectors import STATE_METRICS, orders_href

texts = st.text(min_size=1, max_size=12)
metrics = st.one_of(st.sampled_from([*sorted(STATE_METRICS), "accepted", "replied", "satisfied"]), texts)
days = st.one_of(st.none(), st.dates(min_value=date(2000, 1, 2), max_value=date(2100, 1, 1)))


def reference(*, area_code: str, metric: str, start: date | None, end: date | None, dim: str | None,
              key: str | None) -> str:
    params = {"area": area_code, "metric": metric}
    if start and metric not in STATE_METRICS:
        params["from"] = start.isoformat()
    if end and metric not in STATE_METRICS:
        params["to"] = (end - timedelta(days=1)).isoformat()
    if dim and dim != "all":
        params["dim"], params["key"] = dim, str(key)
    return urlencode(params)


@settings(max_examples=300, deadline=None)  # the first call loads the URL configuration
@given(area_code=st.one_of(st.from_regex(r"\A[0-9]{6,12}\Z"), texts), metric=metrics, start=days, end=days,
       dim=st.one_of(st.none(), st.sampled_from(["all", "channel", "category", "department"]), texts),
       key=st.one_of(st.none(), st.from_regex(r"\A[0-9]{1,5}\Z"), texts))
def test_orders_href_matches_urlencode(area_code, metric, start, end, dim, key):
    href = orders_href(area_code=area_code, metric=metric, start=start, end=end, dim=dim, key=key)
    path, _, query = href.partition("?")
    assert path == "/dashboard/orders/"
    assert query == reference(area_code=area_code, metric=metric, start=start, end=end, dim=dim, key=key)
