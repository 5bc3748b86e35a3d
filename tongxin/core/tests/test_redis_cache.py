"""Production's cache backend (core/cache.py) against a real Redis: Django's cache API unchanged, one
redis-py client per pool, and the one-round-trip window counter the rate limits use. Skipped, with the
reason, when no Redis answers on TONGXIN_TEST_REDIS_URL (default redis://127.0.0.1:6379/13)."""

from __future__ import annotations

import os
import threading
import time

import pytest

REDIS_URL = os.environ.get("TONGXIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _redis_or_skip():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return client


@pytest.fixture
def redis_cache():
    raw = _redis_or_skip()
    raw.flushdb()
    from tongxin.core.cache import RedisCache

    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "t"})
    yield cache, raw
    raw.flushdb()


def test_djangos_cache_api_still_works(redis_cache):
    cache, _raw = redis_cache
    assert cache.add("a", 1, timeout=30) and not cache.add("a", 2, timeout=30)
    assert cache.incr("a") == 2 and cache.get("a") == 2
    cache.set("b", {"x": [1, 2]}, timeout=30)
    assert cache.get("b") == {"x": [1, 2]}
    cache.delete("b")
    assert cache.get("b") is None
    with pytest.raises(ValueError):
        cache.incr("missing")


def test_one_client_per_pool_is_reused(redis_cache):
    cache, _raw = redis_cache
    first = cache._cache.get_client(write=True)
    cache.set("k", 1)
    cache.get("k")
    assert cache._cache.get_client(write=True) is first


def test_the_window_counter_counts_in_one_round_trip_and_always_expires(redis_cache, monkeypatch):
    cache, raw = redis_cache
    client = cache._cache.get_client(write=True)
    executed: list[int] = []
    original = type(client.pipeline()).execute

    def counting(self, *args, **kwargs):
        executed.append(len(self.command_stack))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(client.pipeline()), "execute", counting)
    assert [cache.count_in_window("w", 7) for _ in range(3)] == [1, 2, 3]
    assert executed == [2, 2, 2]  # SET NX EX + INCR, one pipeline each: one round trip per count
    full_key = cache.make_and_validate_key("w")
    assert 0 < raw.ttl(full_key) <= 7  # created with its expiry; counting never removed it
    assert cache.get("w") == 3  # readable through Django's API (the serializer keeps ints raw)


def test_the_window_counter_is_exact_under_parallel_clients(redis_cache):
    cache, _raw = redis_cache
    seen: list[int] = []
    lock = threading.Lock()

    def count(n: int) -> None:
        got = [cache.count_in_window("p", 30) for _ in range(n)]
        with lock:
            seen.extend(got)

    threads = [threading.Thread(target=count, args=(50,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 401))  # every count handed out once: no lost update


def test_a_window_that_expired_starts_again_at_one(redis_cache):
    cache, _raw = redis_cache
    assert cache.count_in_window("e", 1) == 1
    time.sleep(1.2)
    assert cache.count_in_window("e", 1) == 1


def test_the_rate_limits_use_it_when_the_cache_is_redis(redis_cache, monkeypatch):
    from tongxin.core import ratelimit
    from tongxin.residents import ratelimit as resident_limits

    cache, _raw = redis_cache
    monkeypatch.setattr(ratelimit, "cache", cache)
    assert [ratelimit.hit("door", "1.2.3.4", count=2, seconds=60, now=120.0) for _ in range(3)] == [1, 2, 3]
    monkeypatch.setattr(resident_limits.conf, "rate", lambda name: (2, 60))
    resident_limits.hit("report_resident", "h1:1")
    resident_limits.hit("report_resident", "h1:1")
    with pytest.raises(resident_limits.RateLimited):
        resident_limits.hit("report_resident", "h1:1")
