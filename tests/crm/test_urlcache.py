"""crm.urlcache.fixed_url: reverse() remembered, yet following the URLconf and the script prefix."""

from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path, reverse, set_script_prefix

from crm.urlcache import fixed_url

urlpatterns = [path("elsewhere/", include(([path("", lambda request: HttpResponse(), name="home")], "crm")))]


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
