"""WGS-84 ↔ GCJ-02 ↔ BD-09: published reference values, round trips within 0.5 m over the China box
(property tests), and the identity outside China."""

from __future__ import annotations

import math

import eviltransform
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin.core.datums import (
    CHINA_LAT,
    CHINA_LNG,
    Datum,
    bd09_to_gcj02,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    haversine_m,
    in_china_box,
    out_of_china,
    to_wgs84,
    wgs84_to_gcj02,
)

TOLERANCE_M = 0.5


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lng, lat) points (haversine, mean Earth radius)."""
    lng1, lat1, lng2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


china_lng = st.floats(min_value=CHINA_LNG[0], max_value=CHINA_LNG[1], allow_nan=False, allow_infinity=False)
china_lat = st.floats(min_value=CHINA_LAT[0], max_value=CHINA_LAT[1], allow_nan=False, allow_infinity=False)


# --- reference values ---------------------------------------------------------------------------------
# wandergis/coordtransform (README, Tian'anmen 116.404, 39.915), the implementation most Chinese map code
# copies. Its forward transforms are exact formulas and must agree to the last digits; its inverses are
# one-step approximations, which ours (iterated to 1e-9°) improve on by a few centimetres.

def test_forward_transforms_match_the_published_values():
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-12)
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-12)
    assert from_wgs84(116.404, 39.915, "bd09") == pytest.approx((116.41662724378733, 39.922699552216216), abs=1e-12)


def test_inverse_transforms_are_within_centimetres_of_the_published_approximations():
    assert metres(gcj02_to_wgs84(116.404, 39.915), (116.39775550083061, 39.91359571849836)) < 0.1
    assert metres(bd09_to_gcj02(116.404, 39.915), (116.39762729119315, 39.90865673957631)) < 0.1


def test_the_shift_is_hundreds_of_metres_in_china():
    shift = metres((116.404, 39.915), wgs84_to_gcj02(116.404, 39.915))
    assert 300 < shift < 700
    assert metres((109.78, 39.61), wgs84_to_gcj02(109.78, 39.61)) > 100  # Ordos


# --- round trips --------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(china_lng, china_lat)
def test_wgs84_gcj02_round_trip(lng, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lng, lat))
    assert metres((lng, lat), back) < TOLERANCE_M


@settings(max_examples=300, deadline=None)
@given(china_lng, china_lat)
def test_gcj02_wgs84_round_trip(lng, lat):
    back = wgs84_to_gcj02(*gcj02_to_wgs84(lng, lat))
    assert metres((lng, lat), back) < TOLERANCE_M


@settings(max_examples=300, deadline=None)
@given(china_lng, china_lat)
def test_gcj02_bd09_round_trips(lng, lat):
    assert metres((lng, lat), bd09_to_gcj02(*gcj02_to_bd09(lng, lat))) < TOLERANCE_M
    assert metres((lng, lat), gcj02_to_bd09(*bd09_to_gcj02(lng, lat))) < TOLERANCE_M


@settings(max_examples=300, deadline=None)
@given(china_lng, china_lat, st.sampled_from(list(Datum)))
def test_to_and_from_wgs84_round_trip(lng, lat, datum):
    assert metres((lng, lat), to_wgs84(*from_wgs84(lng, lat, datum), datum)) < TOLERANCE_M
    assert metres((lng, lat), from_wgs84(*to_wgs84(lng, lat, datum), datum)) < TOLERANCE_M


def test_wgs84_is_the_identity():
    assert to_wgs84(109.78, 39.61, Datum.WGS84) == (109.78, 39.61)
    assert from_wgs84(109.78, 39.61, "wgs84") == (109.78, 39.61)


def test_unknown_datum():
    with pytest.raises(ValueError):
        to_wgs84(109.78, 39.61, "epsg:3857")


# --- outside China ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("lng", "lat"), [(2.3522, 48.8566), (-74.006, 40.7128), (151.2093, -33.8688),
                                          (139.6917, 35.6895 + 25), (70.0, 30.0), (120.0, 0.5)])
def test_gcj02_is_the_identity_outside_china(lng, lat):
    assert out_of_china(lng, lat)
    assert wgs84_to_gcj02(lng, lat) == (lng, lat)
    assert gcj02_to_wgs84(lng, lat) == (lng, lat)
    assert to_wgs84(lng, lat, "gcj02") == (lng, lat)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-180, max_value=180), st.floats(min_value=-90, max_value=90))
def test_the_identity_holds_wherever_the_algorithm_says_out_of_china(lng, lat):
    if out_of_china(lng, lat):
        assert wgs84_to_gcj02(lng, lat) == (lng, lat)
    else:
        assert wgs84_to_gcj02(lng, lat) != (lng, lat)


def test_the_input_box():
    assert in_china_box(109.78, 39.61)  # Ordos
    assert in_china_box(112.3, 16.8)  # Xisha Islands
    assert not in_china_box(-0.1, 51.5)
    assert not in_china_box(109.78, 60.0)
    assert not in_china_box(CHINA_LNG[0] - 0.01, 30.0)
    assert in_china_box(CHINA_LNG[0], CHINA_LAT[0]) and in_china_box(CHINA_LNG[1], CHINA_LAT[1])


# --- an independent implementation ----------------------------------------------------------------------
# eviltransform (googollee, MIT) is written separately from ours, with (lat, lng) argument order and the
# WGS-84 semi-major axis where the GCJ-02 algorithm has Krasovsky's: the two differ by about 1e-8°, well
# under the 1e-6° (about 10 cm) we demand. Used only here, never by the application.

FORWARD_DEGREES = 1e-6


def _m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Metres between two (lng, lat) points, with the module's own haversine."""
    return haversine_m(a[1], a[0], b[1], b[0])


@settings(max_examples=500, deadline=None)
@given(china_lng, china_lat)
def test_forward_transforms_agree_with_eviltransform(lng, lat):
    ref_lat, ref_lng = eviltransform.wgs2gcj(lat, lng)
    ours = wgs84_to_gcj02(lng, lat)
    assert abs(ours[0] - ref_lng) < FORWARD_DEGREES and abs(ours[1] - ref_lat) < FORWARD_DEGREES
    if not out_of_china(lng, lat):  # eviltransform leaves BD-09 alone outside China; we do not
        ref_lat, ref_lng = eviltransform.gcj2bd(lat, lng)
        ours = gcj02_to_bd09(lng, lat)
        assert abs(ours[0] - ref_lng) < FORWARD_DEGREES and abs(ours[1] - ref_lat) < FORWARD_DEGREES
        ref_lat, ref_lng = eviltransform.wgs2bd(lat, lng)
        ours = from_wgs84(lng, lat, Datum.BD09)
        assert abs(ours[0] - ref_lng) < FORWARD_DEGREES and abs(ours[1] - ref_lat) < FORWARD_DEGREES


@settings(max_examples=300, deadline=None)
@given(china_lng, china_lat)
def test_inverse_agrees_with_eviltransforms_exact_inverse(lng, lat):
    # Its bisection stops at 1e-6° of GCJ-02 error (about 0.1 m): agreement within 0.5 m is what it allows.
    ref_lat, ref_lng = eviltransform.gcj2wgs_exact(lat, lng)
    assert _m(gcj02_to_wgs84(lng, lat), (ref_lng, ref_lat)) < TOLERANCE_M


@settings(max_examples=500, deadline=None)
@given(china_lng, china_lat)
def test_round_trips_measured_with_haversine_m(lng, lat):
    assert _m((lng, lat), gcj02_to_wgs84(*wgs84_to_gcj02(lng, lat))) < TOLERANCE_M  # wgs → gcj → wgs
    assert _m((lng, lat), to_wgs84(*from_wgs84(lng, lat, Datum.BD09), Datum.BD09)) < TOLERANCE_M  # wgs → bd → wgs
    assert _m((lng, lat), bd09_to_gcj02(*gcj02_to_bd09(lng, lat))) < TOLERANCE_M  # gcj → bd → gcj


@settings(max_examples=200, deadline=None)
@given(china_lng, china_lat)
def test_the_inverse_is_far_better_than_the_one_step_approximation(lng, lat):
    # The published one-step inverse (eviltransform.gcj2wgs) is off by up to metres; ours iterates to
    # centimetres and is never worse.
    gcj = wgs84_to_gcj02(lng, lat)
    ours = _m((lng, lat), gcj02_to_wgs84(*gcj))
    one_step_lat, one_step_lng = eviltransform.gcj2wgs(gcj[1], gcj[0])
    assert ours < 0.05
    assert ours <= _m((lng, lat), (one_step_lng, one_step_lat)) + 0.01


@pytest.mark.parametrize(("lng", "lat"), [(2.3522, 48.8566), (-74.006, 40.7128), (151.2093, -33.8688)])
def test_eviltransform_also_sees_the_identity_outside_china(lng, lat):
    assert eviltransform.wgs2gcj(lat, lng) == (lat, lng)
    assert to_wgs84(lng, lat, Datum.GCJ02) == (lng, lat) and from_wgs84(lng, lat, Datum.GCJ02) == (lng, lat)


def test_haversine_m_known_distance():
    # One degree of latitude on the mean sphere: 2πR/360 = 111,195 m.
    assert haversine_m(39.0, 109.0, 40.0, 109.0) == pytest.approx(111_195.08, abs=0.1)
    assert haversine_m(39.6, 109.8, 39.6, 109.8) == 0.0
