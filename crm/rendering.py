"""`{{ value }}` written from Python, as the template engine writes it."""

import html

from django.template.base import render_value_in_context


def value_html(value, context) -> str:
    """render_value_in_context(value, context), with plain text escaped directly: the same
    html.escape that Django's `escape` applies, without the checks for lazy text, time zones and
    number formats that plain text never needs (~3 µs a value; a list page writes hundreds)."""
    if type(value) is str:
        return html.escape(value) if context.autoescape else value
    return render_value_in_context(value, context)
