"""Walk the URL resolver: every named route of the app, as (route, name) pairs."""

import re

from django.urls import URLPattern, URLResolver, get_resolver


def walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), f"{namespace}{entry.name}" if entry.name else None


def sample_path(route: str) -> str:
    """The route with every placeholder filled with a value that matches no row."""
    path = re.sub(r"<(?:int:)?[a-z_]*pk>|<int:[a-z_]+>", "999999", route)
    path = re.sub(r"<(?:slug|str|uuid|path):[a-z_]+>|<[a-z_]+>", "x", path)
    path = path.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    return "/" + path


def app_routes():
    """The app's own routes (the Django admin and static files are walked separately)."""
    for route, name in walk(get_resolver().url_patterns):
        if name and (name.startswith("admin:") or name.startswith("djdt")):
            continue
        if "(?P" in route or route.startswith("^static"):
            continue
        yield route, name


def app_route_names() -> set[str]:
    return {name for _route, name in app_routes() if name}
