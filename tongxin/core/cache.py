"""The Redis cache backend of production (``REDIS_URL``): Django's, with two changes that the rate
limits need on every request (ADR 0011, measured in docs/performance.md):

- **one redis-py client per connection pool.** Django's backend builds a new ``redis.Redis`` for every
  cache call; redis-py 8's constructor fills its response-callback table each time (about 0.25 ms of
  CPU). The client is thread-safe and holds no connection itself (the pool does, and the pool
  re-creates its connections after a fork), so one per pool is kept.
- **a window counter in one round trip** (``count_in_window``): a fixed-window rate limit counted with
  Django's ``add`` + ``incr`` costs three round trips once the window exists (SET NX, EXISTS, INCR).
  Here ``SET key 0 EX t NX`` and ``INCR key`` go in one pipeline: the first creates the window with its
  expiry, the second counts; it works on every Redis version and never leaves a key without expiry.

``tongxin.core.ratelimit.window_count`` uses ``count_in_window`` when the cache has it, else Django's
``add`` + ``incr`` (the per-process cache of the demo and the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _ReusingClient(RedisCacheClient):
    # Django's own private members, which django-stubs does not declare.
    _client: Any
    _get_connection_pool_index: Callable[[bool], int]
    _get_connection_pool: Callable[[bool], Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(DjangoRedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with one client per pool and ``count_in_window``."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient

    def count_in_window(self, key: str, timeout: int) -> int:
        """Add one to the counter ``key`` (created at 0 with ``timeout`` seconds to live if missing) and
        return the new count: one round trip."""
        key = self.make_and_validate_key(key)
        client = self._cache.get_client(key, write=True)
        pipe = client.pipeline(transaction=False)
        pipe.set(key, 0, ex=timeout, nx=True)
        pipe.incr(key)
        _created, count = pipe.execute()
        return int(count)
