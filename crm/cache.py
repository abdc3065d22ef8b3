"""A Redis cache that degrades to "no cache" while Redis is down, instead of failing requests.

The cache only holds what can be recomputed (notification counts, rate-limit counters), so an
outage must cost speed, never a page: every operation that cannot reach Redis logs a warning
and answers as an empty cache would. Timeouts (settings REDIS_CONNECT_TIMEOUT) keep a Redis that
does not answer from holding a request.
"""

import logging

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def _degrade(default):
    def wrap(method):
        def call(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except RedisError as exc:
                logger.warning("cache unavailable (%s): %s skipped", exc.__class__.__name__, method.__name__)
                return default() if callable(default) else default

        call.__name__ = method.__name__
        call.__doc__ = method.__doc__
        return call

    return wrap


class OneClientPerPool(RedisCacheClient):
    """Django's Redis client, keeping one `redis.Redis` per connection pool. Django builds a new
    one for every cache operation (~50 µs each, three operations per page: session, signed-in
    user, bell); a `redis.Redis` is safe to share between threads, its pool hands out connections."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))  # a pool lives as long as this client (self._pools)
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    """django's RedisCache; while Redis is unreachable reads miss, writes are dropped, counters start at 1."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = OneClientPerPool

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except RedisError as exc:
            logger.warning("cache unavailable (%s): get skipped", exc.__class__.__name__)
            return default

    @_degrade(dict)
    def get_many(self, keys, version=None):
        return super().get_many(keys, version)

    @_degrade(False)
    def has_key(self, key, version=None):
        return super().has_key(key, version)

    @_degrade(False)
    def add(self, key, value, timeout=None, version=None):
        return super().add(key, value, timeout, version)

    @_degrade(None)
    def set(self, key, value, timeout=None, version=None):
        return super().set(key, value, timeout, version)

    @_degrade(list)
    def set_many(self, data, timeout=None, version=None):
        return super().set_many(data, timeout, version)

    @_degrade(False)
    def touch(self, key, timeout=None, version=None):
        return super().touch(key, timeout, version)

    @_degrade(False)
    def delete(self, key, version=None):
        return super().delete(key, version)

    @_degrade(None)
    def delete_many(self, keys, version=None):
        return super().delete_many(keys, version)

    @_degrade(1)
    def incr(self, key, delta=1, version=None):
        return super().incr(key, delta, version)

    @_degrade(False)
    def clear(self):
        return super().clear()
