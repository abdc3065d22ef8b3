"""crm/form_renderer.py writes inputs, selects and textareas in Python: the markup must be what
Django's widget templates make of the same widget, value for value, in both languages."""

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from crm.form_renderer import FormRenderer

TRICKY = "a<b>&\"c'd"
WIDGETS = [
    (forms.TextInput(), "q", TRICKY),
    (forms.TextInput(attrs={"required": True, "disabled": False, "data-x": None, "placeholder": _("Search")}), "q", ""),
    (forms.TextInput(), "q", None),
    (forms.TextInput(), "q", mark_safe("<b>safe</b>")),
    (forms.NumberInput(attrs={"step": Decimal("0.01"), "min": 0}), "amount", Decimal("12345.50")),
    (forms.NumberInput(), "count", 1234567),
    (forms.NumberInput(), "ratio", 0.5),
    (forms.EmailInput(), "email", "王@example.com"),
    (forms.PasswordInput(render_value=False), "password", "secret"),
    (forms.HiddenInput(), "next", "/customers/?a=1&b=2"),
    (forms.DateInput(attrs={"type": "date"}), "since", datetime.date(2026, 11, 24)),
    (
        forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        "at",
        datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC),
    ),
    (forms.CheckboxInput(), "active", True),
    (forms.CheckboxInput(), "active", False),
    (forms.Textarea(attrs={"rows": 3}), "summary", "第一行\n<script>"),
    (forms.Textarea(), "summary", ""),
    (forms.Select(choices=[("", "---------"), ("a", "甲 & 乙"), ("b", _("Customers"))]), "kind", "a"),
    (forms.Select(choices=[(1, 1000), (2, 2000.5), (None, "none")]), "number", 2),
    (
        forms.Select(choices=[("", "—"), (_("Group"), [("x", "X <1>"), ("y", "Y")]), ("z", "Z")], attrs={"id": "id_g"}),
        "grouped",
        "y",
    ),
    (forms.SelectMultiple(choices=[("a", "A"), ("b", "B"), ("c", "C")]), "many", ["a", "c"]),
    (forms.NullBooleanSelect(), "flag", None),
    (forms.NullBooleanSelect(), "flag", True),
]


def _both(widget, name, value, attrs=None):
    ours = widget.render(name, value, attrs=attrs, renderer=FormRenderer())
    theirs = widget.render(name, value, attrs=attrs, renderer=DjangoTemplates())
    return ours, theirs


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("thousands", [False, True])
@pytest.mark.parametrize(("widget", "name", "value"), WIDGETS, ids=lambda item: type(item).__name__)
def test_each_widget_renders_as_the_templates_do(widget, name, value, language, thousands):
    with translation.override(language), override_settings(USE_THOUSAND_SEPARATOR=thousands):
        ours, theirs = _both(widget, name, value, attrs={"id": f"id_{name}", "class": "form-control"})
    assert ours == theirs


def test_a_select_whose_options_have_a_template_of_their_own_goes_through_the_templates():
    class Fancy(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    widget = Fancy(choices=[("a", "A"), ("b", "B")])
    ours, theirs = _both(widget, "fancy", "a")
    assert ours == theirs
    assert "<label" in ours  # input_option.html, not an <option>


def test_an_installed_copy_of_a_widget_template_wins_over_the_writers(tmp_path):
    override = tmp_path / "django" / "forms" / "widgets"
    override.mkdir(parents=True)
    (override / "input.html").write_text('<input class="ours" name="{{ widget.name }}">')

    class Overridden(FormRenderer):
        def get_template(self, template_name):
            return self.engine.get_template(template_name)

        @property
        def engine(self):
            from django.template.backends.django import DjangoTemplates as Backend

            dirs = [tmp_path, Path(forms.__file__).parent / "templates"]
            return Backend({"APP_DIRS": True, "DIRS": dirs, "NAME": "overridden", "OPTIONS": {}})

    renderer = Overridden()
    assert renderer.writers == {}
    assert forms.TextInput().render("q", "x", renderer=renderer) == '<input class="ours" name="q">'
    assert FormRenderer().writers  # Django's own templates: written in Python


def test_the_project_renders_its_widgets_with_our_renderer():
    from django.forms.renderers import get_default_renderer

    assert isinstance(get_default_renderer(), FormRenderer)


# Differs between any two responses: the masked CSRF token (in forms and the page's meta tag) and
# the content-security-policy nonce.
PER_RESPONSE = re.compile(r'\b[A-Za-z0-9]{64}\b|nonce="[^"]+"')


def _page(client, url: str, renderer: str) -> str:
    with override_settings(FORM_RENDERER=renderer):
        response = client.get(url)
    assert response.status_code == 200, url
    return PER_RESPONSE.sub("…", response.content.decode())


@pytest.mark.django_db
def test_the_projects_form_pages_are_the_same_either_way(personas, client_for):
    customer = personas.customer_a
    pages = {
        personas.admin: [
            reverse("accounts:customer_list") + "?q=甲&sort=name",
            reverse("accounts:customer_create"),
            reverse("accounts:customer_edit", args=[customer.pk]),
            reverse("accounts:contact_create", args=[customer.pk]),
            reverse("leads:lead_list"),
            reverse("leads:lead_create"),
            reverse("leads:pipeline"),
            reverse("receivables:contract_list"),
            reverse("receivables:contract_create") + f"?customer={customer.pk}",
            reverse("crm:preferences"),
            reverse("admin:accounts_customer_change", args=[customer.pk]),
        ],
        personas.rep_a: [
            reverse("accounts:customer_list"),
            reverse("followups:my_day"),
            reverse("followups:log", args=[customer.pk]),
            reverse("followups:task_create", args=[customer.pk]),
            reverse("followups:task_list"),
        ],
    }
    for user, urls in pages.items():
        client = client_for(user)
        for url in urls:
            # A page's first rendering may order a formset's hidden fields differently from the
            # next ones (the form class is built on first use): compare warm pages.
            client.get(url)
            ours = _page(client, url, "crm.form_renderer.FormRenderer")
            theirs = _page(client, url, "django.forms.renderers.DjangoTemplates")
            assert "<select" in ours or "<input" in ours, url
            assert ours == theirs, url
