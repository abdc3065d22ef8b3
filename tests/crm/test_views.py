"""Pages of the foundation: login, home, status, language, error pages, customer visibility by URL."""

import re

import pytest
from django.urls import reverse

from crm.models import Profile
from crm.templatetags import crm_tags

pytestmark = pytest.mark.django_db


def test_it_redirects_anonymous_users_to_the_login_page(client):
    for url in [reverse("crm:home"), reverse("accounts:customer_list"), reverse("crm:status")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_serves_the_login_page_in_chinese_by_default(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "登录" in response.content.decode()


def test_it_refuses_a_rep_opening_another_reps_customer_by_url(personas, client_for):
    client = client_for(personas.rep_a)
    assert client.get(personas.customer_a.get_absolute_url()).status_code == 200
    assert client.get(personas.customer_b.get_absolute_url()).status_code == 404
    assert client.get(personas.customer_c.get_absolute_url()).status_code == 404


def test_it_lets_a_manager_open_their_teams_customer_but_not_another_teams(personas, client_for):
    client = client_for(personas.manager_a)
    assert client.get(personas.customer_b.get_absolute_url()).status_code == 200
    response = client.get(personas.customer_c.get_absolute_url())
    assert response.status_code == 404
    assert "MARKER-C" not in response.content.decode()


def test_it_lists_only_visible_customers(personas, client_for):
    body = client_for(personas.rep_a).get(reverse("accounts:customer_list")).content.decode()
    assert "MARKER-A" in body
    assert "MARKER-B" not in body and "MARKER-C" not in body


def test_it_hides_the_budget_from_a_rep_and_shows_it_to_the_manager_as_cny(personas, client_for):
    personas.customer_a.budget = 1234567
    personas.customer_a.save()
    url = personas.customer_a.get_absolute_url()
    assert "¥1,234,567.00" not in client_for(personas.rep_a).get(url).content.decode()
    assert "¥1,234,567.00" in client_for(personas.manager_a).get(url).content.decode()


def test_it_records_who_changed_a_customer_in_its_history(personas):
    customer = personas.customer_a
    customer._history_user = personas.manager_a
    customer.name = "改名后的公司"
    customer.save()
    latest = customer.history.first()
    assert latest.history_user == personas.manager_a
    assert latest.prev_record.name == "MARKER-A 甲公司"
    assert latest.name == "改名后的公司"


def test_it_refuses_the_status_page_to_reps_and_shows_it_to_managers(personas, client_for):
    assert client_for(personas.rep_a).get(reverse("crm:status")).status_code == 403
    assert client_for(personas.manager_a).get(reverse("crm:status")).status_code == 200


def test_it_switches_to_english_and_remembers_it_on_the_profile(personas, client_for):
    client = client_for(personas.rep_a)
    response = client.post(reverse("crm:set_language"), {"language": "en", "next": reverse("crm:home")})
    assert response.status_code == 302
    assert Profile.objects.get(user=personas.rep_a).language == "en"
    assert "Customers" in client.get(reverse("crm:home")).content.decode()


def test_it_refuses_an_offsite_next_url_when_switching_language(client):
    response = client.post(reverse("crm:set_language"), {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_it_saves_preferences_and_shows_times_in_the_users_time_zone(personas, client_for):
    client = client_for(personas.rep_a)
    response = client.post(reverse("crm:preferences"), {"language": "zh-hans", "time_zone": "Europe/London"})
    assert response.status_code == 302
    assert Profile.objects.get(user=personas.rep_a).time_zone == "Europe/London"
    assert "Europe/London" in client.get(reverse("crm:home")).content.decode()


def test_it_rejects_an_unknown_time_zone_with_a_message(personas, client_for):
    response = client_for(personas.rep_a).post(reverse("crm:preferences"), {"language": "en", "time_zone": "Mars/Base"})
    assert response.status_code == 200
    assert Profile.objects.get(user=personas.rep_a).time_zone == ""


def test_it_renders_a_friendly_404_page(personas, client_for):
    response = client_for(personas.rep_a).get("/no-such-page/")
    assert response.status_code == 404
    assert "404" in response.content.decode()


def test_it_shows_an_empty_state_when_there_are_no_customers(db, client_for):
    from tests.factories import UserFactory

    user = UserFactory(username="lonely", role="sales_rep")
    body = client_for(user).get(reverse("accounts:customer_list")).content.decode()
    assert "No customers match" in body or "没有" in body


def test_it_writes_chinese_names_surname_first_and_others_first_name_first():
    from types import SimpleNamespace

    from crm.templatetags.crm_tags import person

    assert person(SimpleNamespace(first_name="小明", last_name="王", get_username=lambda: "x")) == "王小明"
    assert person(SimpleNamespace(first_name="Ada", last_name="Lovelace", get_username=lambda: "x")) == "Ada Lovelace"
    assert person(SimpleNamespace(first_name="", last_name="", get_username=lambda: "rep9")) == "rep9"


def test_it_formats_money_in_cny_with_thousands_separators():
    from crm.templatetags.crm_tags import cny

    assert cny(1234567.5) == "¥1,234,567.50"
    assert cny(-20) == "-¥20.00"
    assert cny(None) == ""


def test_it_lists_users_with_team_and_roles_in_the_admin(personas, client_for):
    body = client_for(personas.admin).get("/admin/auth/user/").content.decode()
    assert "rep_a" in body and "A队" in body and "sales_rep" in body


NAV = re.compile(r'<ul class="navbar-nav me-auto" data-testid="main-nav">.*?\n      </ul>', re.S)


def _nav(response) -> tuple[str, bool]:
    """The main navigation's markup, and whether its template was rendered for this response."""
    written = "partials/main_nav.html" in [t.name for t in response.templates]
    return NAV.search(response.content.decode()).group(0), written


def test_the_main_nav_is_written_once_per_entries_active_entry_and_language(personas, client_for, settings):
    crm_tags._MAIN_NAV.clear()
    client = client_for(personas.rep_a)
    first, written = _nav(client.get(reverse("accounts:customer_list")))
    assert written and 'class="nav-link active" href="/customers/" data-nav="customers"' in first
    again, written = _nav(client.get(reverse("accounts:customer_list") + "?page=1"))
    assert (again, written) == (first, False)  # the same entries, active entry and language: reused

    my_day, written = _nav(client.get(reverse("followups:my_day")))
    assert written and 'active" href="/followups/" data-nav="my_day"' in my_day
    assert 'class="nav-link" href="/customers/"' in my_day  # no longer the active one

    client.post(reverse("crm:set_language"), {"language": "en", "next": "/"})
    english, written = _nav(client.get(reverse("accounts:customer_list")))
    assert written and ">Customers</a>" in english and "客户" not in english

    manager, written = _nav(client_for(personas.manager_a).get(reverse("accounts:customer_list")))
    assert written and 'data-nav="complaints"' in manager and 'data-nav="complaints"' not in first

    settings.DEBUG = True  # an edited template shows at once
    assert _nav(client_for(personas.manager_a).get(reverse("accounts:customer_list")))[1]
