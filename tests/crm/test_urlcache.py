"""crm.urlcache: reverse() remembered (fixed_url, object_url), yet following the URLconf and the script prefix."""

import pytest
from django.http import HttpResponse
from django.template import Context, Template
from django.test import override_settings
from django.urls import NoReverseMatch, include, path, reverse, set_script_prefix

from crm.urlcache import fixed_url, object_url
from tests.factories import CustomerFactory


def _view(request, pk=None):
    return HttpResponse()


urlpatterns = [
    path("elsewhere/", include(([path("", _view, name="home")], "crm"))),
    path("clients/", include(([path("<int:pk>/view/", _view, name="customer_detail")], "accounts"))),
]


def test_it_gives_what_reverse_gives():
    for name in ("crm:home", "accounts:customer_list", "dashboards:index", "followups:my_day", "admin:index"):
        assert fixed_url(name) == reverse(name)


def test_it_follows_the_script_prefix():
    try:
        set_script_prefix("/crm/")
        assert fixed_url("accounts:customer_list") == "/crm/customers/"
    finally:
        set_script_prefix("/")
    assert fixed_url("accounts:customer_list") == "/customers/"


def test_it_follows_a_changed_urlconf():
    before = fixed_url("crm:home")
    with override_settings(ROOT_URLCONF=__name__):
        assert fixed_url("crm:home") == "/elsewhere/"
    assert fixed_url("crm:home") == before


def test_object_url_follows_a_changed_urlconf():
    before = object_url("accounts:customer_detail", 3)
    with override_settings(ROOT_URLCONF=__name__):
        assert object_url("accounts:customer_detail", 3) == "/clients/3/view/"
    assert object_url("accounts:customer_detail", 3) == before == "/customers/3/"


def test_object_url_gives_what_reverse_gives():
    for name in (
        "accounts:customer_detail",
        "leads:lead_detail",
        "leads:opportunity_detail",
        "receivables:contract_detail",
        "followups:complaint_detail",
    ):
        for pk in (1, 42, 1_000_000):
            assert object_url(name, pk) == reverse(name, args=[pk])


def test_object_url_follows_the_script_prefix_and_leaves_odd_keys_to_reverse():
    try:
        set_script_prefix("/crm/")
        assert object_url("accounts:customer_detail", 7) == "/crm/customers/7/"
    finally:
        set_script_prefix("/")
    assert object_url("accounts:customer_detail", 7) == "/customers/7/"
    assert object_url("accounts:customer_detail", "8") == "/customers/8/"  # not an int: reverse() itself
    for odd in (None, -1, True):  # an unsaved record, keys no <int:pk> takes: refused as before
        with pytest.raises(NoReverseMatch):
            object_url("accounts:customer_detail", odd)


def test_a_model_links_to_its_page_through_object_url(db):
    customer = CustomerFactory()
    assert customer.get_absolute_url() == reverse("accounts:customer_detail", args=[customer.pk])


def test_the_object_url_filter_writes_what_the_url_tag_writes():
    for name in ("followups:customer", "followups:log", "accounts:customer_detail"):
        for pk in (5, 123456):
            context = Context({"pk": pk})
            tag = Template(f"{{% url '{name}' pk %}}").render(context)
            assert Template(f"{{% load crm_tags %}}{{{{ pk|object_url:'{name}' }}}}").render(context) == tag


# --- the {% url %} builtin (crm/templatetags/crm_url.py) ----------------------------------------


def test_every_template_s_url_tag_is_the_remembering_one():
    from crm.templatetags.crm_url import RememberedURLNode

    nodes = Template("{% url 'crm:home' %}").nodelist
    assert [type(n) for n in nodes] == [RememberedURLNode]


@pytest.mark.parametrize(
    "source",
    [
        "{% url 'crm:home' %}",
        "{% url 'accounts:customer_list' %}?q=1",
        "{% url name %}",
        "{% url 'accounts:customer_detail' 42 %}",
        "{% url 'accounts:customer_detail' pk=42 %}",
        "{% url 'crm:home' as home %}[{{ home }}]",
        "{% url 'no:such' as missing %}[{{ missing }}]",
    ],
)
def test_the_url_tag_writes_what_django_s_writes(source):
    from django.template import Engine

    django_only = Engine(builtins=[])  # Django's own tags alone
    context = {"name": "followups:my_day"}
    assert Template(source).render(Context(context)) == django_only.from_string(source).render(Context(context))


def test_the_url_tag_fails_as_django_s_does_for_an_unknown_name():
    with pytest.raises(NoReverseMatch):
        Template("{% url 'no:such' %}").render(Context())
    with pytest.raises(NoReverseMatch):
        Template("{% url name %}").render(Context({"name": None}))


def test_the_url_tag_remembers_an_argument_free_url_and_follows_a_changed_urlconf(monkeypatch):
    template = Template("{% url 'crm:home' %}")
    before = template.render(Context())
    with override_settings(ROOT_URLCONF=__name__):
        assert template.render(Context()) == "/elsewhere/"
    assert template.render(Context()) == before  # a changed URLconf gives a new resolver: reversed anew

    def no_resolver_work(*args, **kwargs):
        raise AssertionError("reverse() called for a remembered URL")

    monkeypatch.setattr("crm.urlcache.reverse", no_resolver_work)
    assert template.render(Context()) == before == "/"


def test_remembered_urls_are_kept_apart_by_current_application():
    assert fixed_url("admin:index", current_app="admin") == reverse("admin:index", current_app="admin")
    assert fixed_url("crm:home", current_app="accounts") == fixed_url("crm:home") == "/"
