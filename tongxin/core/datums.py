"""China's coordinate datums: WGS-84 (GPS), GCJ-02 (Amap, Tencent, WeChat) and BD-09 (Baidu).

We store WGS-84. GCJ-02 is WGS-84 shifted by a published, deterministic obfuscation; outside
mainland China it equals WGS-84. The inverse transforms have no closed form: they iterate the forward
transform until the round trip is within 1e-7 degrees (about 1 cm), far better than the 0.5 m we need.
"""

from __future__ import annotations

import math
from enum import StrEnum

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 algorithm uses it
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0


class Datum(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


def out_of_china(lng: float, lat: float) -> bool:
    """The rough box the GCJ-02 algorithm itself uses: outside it, no shift is applied."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    if out_of_china(lng, lat):
        return lng, lat
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = math.sin(radlat)
    magic = 1 - _EE * magic * magic
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """Invert by fixed-point iteration: guess, shift forward, correct by the error."""
    if out_of_china(lng, lat):
        return lng, lat
    wlng, wlat = lng, lat
    for _ in range(30):
        glng, glat = wgs84_to_gcj02(wlng, wlat)
        dlng, dlat = glng - lng, glat - lat
        if abs(dlng) < 1e-9 and abs(dlat) < 1e-9:
            break
        wlng -= dlng
        wlat -= dlat
    return wlng, wlat


def gcj02_to_bd09(lng: float, lat: float) -> tuple[float, float]:
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """Invert by iteration (the common closed-form approximation is off by up to a metre)."""
    glng, glat = lng - 0.0065, lat - 0.006
    for _ in range(30):
        blng, blat = gcj02_to_bd09(glng, glat)
        dlng, dlat = blng - lng, blat - lat
        if abs(dlng) < 1e-10 and abs(dlat) < 1e-10:
            break
        glng -= dlng
        glat -= dlat
    return glng, glat


def to_wgs84(lng: float, lat: float, datum: Datum | str) -> tuple[float, float]:
    datum = Datum(datum)
    if datum is Datum.WGS84:
        return lng, lat
    if datum is Datum.GCJ02:
        return gcj02_to_wgs84(lng, lat)
    return gcj02_to_wgs84(*bd09_to_gcj02(lng, lat))


def from_wgs84(lng: float, lat: float, datum: Datum | str) -> tuple[float, float]:
    datum = Datum(datum)
    if datum is Datum.WGS84:
        return lng, lat
    gcj = wgs84_to_gcj02(lng, lat)
    if datum is Datum.GCJ02:
        return gcj
    return gcj02_to_bd09(*gcj)


# Mainland China with its islands, generously: inputs outside are refused as typos.
CHINA_LNG = (73.4, 135.1)
CHINA_LAT = (3.8, 53.6)


def in_china_box(lng: float, lat: float) -> bool:
    return CHINA_LNG[0] <= lng <= CHINA_LNG[1] and CHINA_LAT[0] <= lat <= CHINA_LAT[1]


EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points (on the mean sphere: better than 0.5 %)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
