"""reverse() remembered, for the argument-less URLs that every page links to (the navigation, the
dashboard cards): a dozen reverse() calls a page otherwise, each ~25 µs of resolver work."""

from functools import lru_cache

from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse


def fixed_url(viewname: str) -> str:
    """reverse(viewname) for a URL without arguments. Remembered per URL configuration (a new
    resolver when the URLconf changes, as in tests that override it) and script prefix."""
    return _reversed(get_resolver(get_urlconf()), get_script_prefix(), viewname)


@lru_cache(maxsize=256)
def _reversed(resolver, prefix: str, viewname: str) -> str:
    return reverse(viewname)
