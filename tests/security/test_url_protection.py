"""Every URL the app has is either explicitly public or refuses anonymous users.

Walks the URL resolver, so a new page without a login check fails here. The full per-role
authorization matrix grows on top of this (reliability and security battery).
"""

import pytest

from tests.security.routes import app_routes, sample_path

# URL names (namespace:name) that anonymous visitors may reach on purpose.
PUBLIC = {
    "login",
    "crm:set_language",
    "javascript-catalog",
    "leads:public_form",
    "leads:public_form_thanks",
    "public_lead_form",
    "public_lead_form_thanks",
    "followups:nps_answer",
    "nps_answer",
    "followups:nps_thanks",
    "usage_api",  # token-authenticated JSON endpoint (per-customer API token, no session)
}


@pytest.mark.django_db
def test_it_refuses_anonymous_visitors_on_every_non_public_url(client):
    open_urls = []
    for route, name in app_routes():
        if name in PUBLIC:
            continue
        path = sample_path(route)
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            # Anonymous visitors are sent to the login page before any lookup; 405 = wrong method.
            allowed = response.status_code == 405 or (response.status_code == 302 and "/login/" in response["Location"])
            if not allowed:
                open_urls.append((method.upper(), path, name, response.status_code))
    assert open_urls == []


def test_it_walks_a_real_set_of_urls():
    names = {name for _route, name in app_routes()}
    assert {"crm:home", "accounts:customer_list", "accounts:customer_detail", "crm:status"} <= names
