"""A fixed-window request counter on the Django cache (Redis in production), shared by public endpoints."""

from django.core.cache import cache


def client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def over_limit(key: str, *, limit: int, window: int) -> bool:
    """Count one hit against `key` for `window` seconds; True once more than `limit` hits were counted."""
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        count = 1
    return count > limit
