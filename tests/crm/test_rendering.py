"""crm.rendering.value_html writes a value exactly as `{{ value }}` does."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context
from django.template.base import render_value_in_context
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from crm.rendering import value_html

VALUES = [
    "甲公司",
    "<b>\"A\" & 'B'</b>",
    "",
    mark_safe("<i>kept</i>"),
    _("Open"),
    1234567,
    Decimal("1234567.50"),
    3.5,
    None,
    True,
    date(2026, 11, 24),
    datetime(2026, 11, 23, 23, 30, tzinfo=UTC),
]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("autoescape", [True, False])
def test_it_writes_every_kind_of_value_as_the_template_engine(settings, language, autoescape):
    settings.USE_THOUSAND_SEPARATOR = True
    context = Context(autoescape=autoescape)
    with translation.override(language), timezone.override("Asia/Shanghai"):
        for value in VALUES:
            assert value_html(value, context) == render_value_in_context(value, context), repr(value)
    assert value_html("<b>\"A\" & 'B'</b>", Context()) == "&lt;b&gt;&quot;A&quot; &amp; &#x27;B&#x27;&lt;/b&gt;"
