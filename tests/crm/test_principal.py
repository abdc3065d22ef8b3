"""The signed-in user, profile, roles and permissions read from the cache (crm/principal.py): one
cache lookup instead of two queries per request, and every change to what it copies shows on the
very next request."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from crm import principal
from crm.access import has_role
from crm.models import Profile
from crm.roles import Role

USER_TABLE = get_user_model()._meta.db_table


@pytest.fixture
def cached(settings):
    settings.PRINCIPAL_CACHE_SECONDS = 60
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "principal"}}
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def user_queries(client, path="/dashboards/"):
    """The queries a page made that read the user or their groups and permissions."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return [q["sql"] for q in queries if USER_TABLE in q["sql"] or "auth_group" in q["sql"]]


def request_user(client):
    """request.user as the middleware would give it for the client's session."""
    request = RequestFactory().get("/")
    request.session = client.session
    return principal.get_user(request)


def test_the_second_page_reads_the_user_and_grants_from_the_cache(personas, client_for, cached):
    client = client_for(personas.manager_a)
    assert user_queries(client)  # the first page reads them and keeps them
    assert user_queries(client) == []
    user = request_user(client)
    assert user.pk == personas.manager_a.pk and user.username == "manager_a"
    assert user.profile.team_id == personas.team_a.pk
    assert has_role(user, Role.MANAGER) and not has_role(user, Role.FINANCE)
    assert user.has_perm("crm.view_amounts")


def test_without_the_setting_every_page_reads_the_database(personas, client_for, settings):
    settings.PRINCIPAL_CACHE_SECONDS = 0
    client = client_for(personas.manager_a)
    user_queries(client)
    assert user_queries(client)


def test_the_cache_holds_no_password_and_saving_the_cached_user_keeps_it(personas, client_for, cached):
    client = client_for(personas.rep_a)
    user_queries(client)
    from django.core.cache import cache

    snapshot = cache.get(principal._key(personas.rep_a.pk))
    assert "password" not in snapshot.user and "username" in snapshot.user
    user = request_user(client)
    assert "password" in user.get_deferred_fields()
    user.first_name = "新名"
    user.save()
    stored = get_user_model().objects.get(pk=user.pk)
    assert stored.first_name == "新名" and stored.check_password("pw-Secret-123")


def test_a_deactivated_user_is_signed_out_on_the_next_request(personas, client_for, cached):
    client = client_for(personas.rep_a)
    user_queries(client)
    personas.rep_a.is_active = False
    personas.rep_a.save()
    assert client.get("/dashboards/").status_code == 302


def test_a_changed_password_ends_other_sessions_although_the_snapshot_was_fresh(personas, client_for, cached):
    client = client_for(personas.rep_a)
    user_queries(client)
    user = get_user_model().objects.get(pk=personas.rep_a.pk)
    user.set_password("another-Secret-456")
    user.save()
    # Signed in again elsewhere: the snapshot is refilled for the new password, and it does not
    # verify the old session, which Django's own check then ends.
    new_client = Client()
    new_client.force_login(user)
    user_queries(new_client)
    response = client.get("/dashboards/")
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("side", ["user", "group"])
def test_roles_granted_and_taken_show_on_the_next_request(personas, client_for, cached, side):
    client = client_for(personas.rep_a)
    assert client.get("/receivables/").status_code == 403
    finance = Group.objects.get(name=Role.FINANCE.value)
    if side == "user":
        personas.rep_a.groups.add(finance)
    else:
        finance.user_set.add(personas.rep_a)
    assert client.get("/receivables/").status_code == 200
    assert has_role(request_user(client), Role.FINANCE)
    if side == "user":
        personas.rep_a.groups.remove(finance)
    else:
        finance.user_set.remove(personas.rep_a)
    assert client.get("/receivables/").status_code == 403


def test_a_cleared_group_drops_every_member(personas, client_for, cached):
    client = client_for(personas.finance)
    assert client.get("/receivables/").status_code == 200
    Group.objects.get(name=Role.FINANCE.value).user_set.clear()
    assert client.get("/receivables/").status_code == 403


def test_a_permission_taken_from_a_group_shows_for_its_members(personas, client_for, cached):
    client = client_for(personas.finance)
    user_queries(client)
    assert request_user(client).has_perm("crm.export_data")
    group = Group.objects.get(name=Role.FINANCE.value)
    group.permissions.remove(Permission.objects.get(codename="export_data", content_type__app_label="crm"))
    assert not request_user(client).has_perm("crm.export_data")


def test_a_user_s_own_permission_shows_on_the_next_request(personas, client_for, cached):
    client = client_for(personas.rep_a)
    user_queries(client)
    assert not request_user(client).has_perm("crm.export_data")
    personas.rep_a.user_permissions.add(Permission.objects.get(codename="export_data", content_type__app_label="crm"))
    assert request_user(client).has_perm("crm.export_data")


def test_a_changed_profile_shows_on_the_next_request(personas, client_for, cached):
    client = client_for(personas.rep_a)
    user_queries(client)
    profile = Profile.objects.get(user=personas.rep_a)
    profile.language, profile.team = "en", personas.team_b
    profile.save()
    user = request_user(client)
    assert user.profile.language == "en" and user.profile.team_id == personas.team_b.pk
    assert "Dashboards" in client.get("/dashboards/").content.decode()


def test_a_snapshot_stored_before_the_change_commits_is_dropped_on_commit(
    personas, client_for, cached, django_capture_on_commit_callbacks
):
    """A request that read the old rows while the change was not yet committed may store them
    after the immediate drop; the drop on commit removes that snapshot too."""
    from django.core.cache import cache

    client = client_for(personas.rep_a)
    with django_capture_on_commit_callbacks(execute=True):
        personas.rep_a.groups.add(Group.objects.get(name=Role.FINANCE.value))
        user_queries(client)  # stands for the other request: stores a snapshot before the commit
        assert cache.get(principal._key(personas.rep_a.pk)) is not None
    assert cache.get(principal._key(personas.rep_a.pk)) is None


def test_a_session_of_another_backend_or_without_hash_is_read_django_s_way(personas, client_for, cached):
    client = client_for(personas.rep_a)
    user_queries(client)
    session = client.session
    del session["_auth_user_hash"]
    session.save()
    response = client.get("/dashboards/")
    assert response.status_code == 302  # Django's get_user: no hash, no user


def test_a_manager_s_teams_come_with_the_snapshot_and_follow_a_new_sub_team(personas, client_for, cached):
    from crm.access import managed_team_ids
    from tests.factories import TeamFactory

    client = client_for(personas.manager_a)
    user_queries(client)
    with CaptureQueriesContext(connection) as queries:
        assert managed_team_ids(request_user(client)) == [personas.team_a.pk]
    assert not [q for q in queries if "crm_team" in q["sql"]]
    sub_team = TeamFactory(name="A队-华南", parent=personas.team_a)
    assert managed_team_ids(request_user(client)) == sorted([personas.team_a.pk, sub_team.pk])
    personas.team_a.manager = personas.manager_b
    personas.team_a.save()
    assert managed_team_ids(request_user(client)) == []


def test_a_snapshot_left_by_another_version_of_the_code_is_read_from_the_database(personas, client_for, cached, caplog):
    from django.core.cache import cache

    client = client_for(personas.manager_a)
    user_queries(client)
    cache.set(principal._key(personas.manager_a.pk), object.__new__(principal.Snapshot))  # no fields
    assert user_queries(client)  # read the database again instead of failing the page
    assert request_user(client).username == "manager_a"
    assert "unreadable" in caplog.text


def test_the_middleware_gives_the_user_itself_not_a_lazy_proxy(personas, client_for, cached):
    from django.utils.functional import LazyObject

    from crm.middleware import AuthenticationMiddleware

    request = RequestFactory().get("/")
    request.session = client_for(personas.rep_a).session
    AuthenticationMiddleware(lambda r: None).process_request(request)
    assert not isinstance(request.user, LazyObject)
    assert type(request.user) is get_user_model() and request.user.pk == personas.rep_a.pk
    anonymous = RequestFactory().get("/")
    anonymous.session = Client().session
    AuthenticationMiddleware(lambda r: None).process_request(anonymous)
    assert not anonymous.user.is_authenticated
