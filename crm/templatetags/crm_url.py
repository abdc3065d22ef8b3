"""`{% url %}` with the URLs that take no arguments remembered: a template builtin (settings
TEMPLATES "builtins"), so every template's `{% url %}` is this one without a `{% load %}`.

Each page's layout links a dozen fixed places (home, the bell, the language switch, sign-out, the
page's own actions); Django's tag reverses each one on every render, ~18 µs of resolver work.
Here a view name without arguments is reversed once per URL configuration, script prefix and
current application (crm.urlcache.fixed_url); anything else, and any error, is Django's own tag.
"""

from django import template
from django.template import defaulttags
from django.urls import NoReverseMatch
from django.utils.html import conditional_escape

from ..urlcache import fixed_url

register = template.Library()


class RememberedURLNode(defaulttags.URLNode):
    def render(self, context):
        view_name = self.view_name.resolve(context)
        if self.args or self.kwargs or not isinstance(view_name, str):
            return super().render(context)
        try:
            url = fixed_url(view_name, current_app=_current_app(context))
        except NoReverseMatch:
            return super().render(context)  # raises, or gives "" to `as`, as Django's tag does
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


def _current_app(context) -> str | None:
    """The current application as Django's tag takes it: the request's, else its namespace."""
    request = getattr(context, "request", None)
    try:
        return request.current_app
    except AttributeError:
        try:
            return request.resolver_match.namespace
        except AttributeError:
            return None


@register.tag
def url(parser, token):
    """Django's {% url %} (same syntax, same output), with argument-free URLs remembered."""
    node = defaulttags.url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
