"""reverse() remembered: for the argument-less URLs that every page links to (the navigation, the
dashboard cards), and for the detail pages of records, whose one argument is the record's key (a
list links every row). Each reverse() is ~15–25 µs of resolver work; these are a lookup."""

from functools import lru_cache

from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse


def fixed_url(viewname: str, current_app: str | None = None) -> str:
    """reverse(viewname, current_app=current_app) for a URL without arguments. Remembered per URL
    configuration (a new resolver when the URLconf changes, as in tests that override it), script
    prefix and current application (the `{% url %}` tag passes the page's namespace)."""
    return _reversed(get_resolver(get_urlconf()), get_script_prefix(), viewname, current_app)


@lru_cache(maxsize=1024)
def _reversed(resolver, prefix: str, viewname: str, current_app: str | None) -> str:
    return reverse(viewname, current_app=current_app)


# An id no table reaches: reversed in its place, then replaced by the record's own key.
_KEY_MARK = 987_654_321_987_654


def object_url(viewname: str, pk: int) -> str:
    """reverse(viewname, args=[pk]) for a URL whose only argument is an integer key, as a model's
    get_absolute_url. Remembered per URL configuration and script prefix, as fixed_url."""
    if type(pk) is not int or pk < 0:  # None (an unsaved record), a string…: reverse() decides
        return reverse(viewname, args=[pk])
    before, after = _around_key(get_resolver(get_urlconf()), get_script_prefix(), viewname)
    return f"{before}{pk}{after}"


@lru_cache(maxsize=256)
def _around_key(resolver, prefix: str, viewname: str) -> tuple[str, str]:
    before, mark, after = reverse(viewname, args=[_KEY_MARK]).partition(str(_KEY_MARK))
    if not mark:
        raise ValueError(f"{viewname}: the key does not appear as it is in the URL")
    return before, after
