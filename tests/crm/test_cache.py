"""crm/cache.py: the Redis cache keeps one client per connection pool and still degrades to "no
cache" while Redis cannot be reached."""

import os
import uuid

from crm.cache import ResilientRedisCache
from tests.conftest import redis_ping, require


def _cache(url: str) -> ResilientRedisCache:
    return ResilientRedisCache(url, {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}})


def test_every_operation_uses_the_same_client_of_its_pool():
    cache = _cache("redis://127.0.0.1:6379/15")
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client("some-key") is client
    assert client.connection_pool is cache._cache._get_connection_pool(write=False)


def test_values_go_to_redis_and_come_back():
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    require(redis_ping(url), f"Redis not reachable at {url}")
    cache, key = _cache(url), f"test-cache-{uuid.uuid4().hex}"
    try:
        cache.set(key, {"count": 3}, 30)
        assert cache.get(key) == {"count": 3}
        assert cache.get_many([key, f"{key}-absent"]) == {key: {"count": 3}}
        cache.delete(key)
        assert cache.get(key) is None
    finally:
        cache.delete(key)


def test_an_unreachable_redis_reads_as_an_empty_cache(caplog):
    cache = _cache("redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert cache.get("anything", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set("a", 1) is None
    assert cache.incr("counter") == 1
    assert "cache unavailable" in caplog.text
