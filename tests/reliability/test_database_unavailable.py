"""A database that cannot be reached answers a translated 503 page without a stack trace,
wherever the request fails: in a view or already in the session/authentication middleware."""

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from .conftest import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.raise_request_exception = False  # answer as a server would, instead of re-raising
    return client


@pytest.fixture
def database_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    def take_down():
        monkeypatch.setattr(CursorWrapper, "execute", refuse)
        monkeypatch.setattr(CursorWrapper, "executemany", refuse)

    return take_down


@pytest.mark.parametrize(
    ("language", "text"),
    [("zh-hans", "暂时无法使用"), ("en", "The CRM is temporarily unavailable")],
)
def test_a_signed_in_page_answers_503_in_the_users_language(client, personas, database_down, language, text, settings):
    settings.DEBUG = False
    sign_in(client, personas.rep_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    database_down()
    response = client.get("/customers/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "Traceback" not in body and "OperationalError" not in body and "5432" not in body
    assert f'<html lang="{language}">' in body
    if language == "en":  # the Chinese catalogue is filled in by the translators afterwards
        assert text in body
    assert 'data-testid="service-unavailable"' in body


def test_a_write_fails_with_503_too_and_the_login_page_as_well(client, personas, database_down):
    sign_in(client, personas.rep_a)
    database_down()
    assert client.post(f"/customers/{personas.customer_a.pk}/edit/", {"name": "x"}).status_code == 503
    client.cookies.clear()
    assert client.get("/login/").status_code in (200, 503)  # no database needed to show it
    assert client.post("/login/", {"username": "rep_a", "password": "x"}).status_code == 503


def test_other_errors_stay_ordinary_500s(client, personas, monkeypatch):
    from crm import middleware_db

    request_marked = []
    monkeypatch.setattr(middleware_db, "database_unavailable_response", lambda r: request_marked.append(r))
    sign_in(client, personas.rep_a)
    monkeypatch.setattr(CursorWrapper, "execute", lambda *a, **k: (_ for _ in ()).throw(ValueError("bug")))
    assert client.get("/customers/").status_code == 500
    assert request_marked == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_the_503_page_in_the_browser(personas, new_page, screenshot, database_down, lang):
    page = new_page(personas.rep_a, lang=lang)
    database_down()
    response = page.goto(page.base_url + "/customers/")
    assert response.status == 503
    card = page.get_by_test_id("service-unavailable")
    assert card.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, f"reliability-503-{lang}")
