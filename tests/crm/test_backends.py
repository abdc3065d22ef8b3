"""crm.backends.ModelBackend: Django's answers about a user, read in fewer queries."""

import pytest
from django.contrib.auth import backends as django_backends
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from crm.access import user_roles
from crm.backends import ModelBackend
from crm.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def fresh(user):
    """The user as a new request loads them: nothing cached on the object."""
    return get_user_model().objects.get(pk=user.pk)


def test_it_grants_every_persona_exactly_what_djangos_backend_grants(personas):
    for user in vars(personas).values():
        if isinstance(user, get_user_model()):
            expected = django_backends.ModelBackend().get_all_permissions(fresh(user))
            assert ModelBackend().get_all_permissions(fresh(user)) == expected, user.username
    assert ModelBackend().get_all_permissions(fresh(personas.manager_a)) >= {"crm.view_amounts"}
    assert "crm.view_amounts" not in ModelBackend().get_all_permissions(fresh(personas.rep_a))


def test_it_counts_a_permission_given_to_the_user_directly_as_well_as_their_groups():
    user = UserFactory(role=Role.SALES_REP)
    user.user_permissions.add(Permission.objects.get(codename="export_data"))
    granted = ModelBackend().get_all_permissions(fresh(user))
    assert "crm.export_data" in granted
    assert granted == django_backends.ModelBackend().get_all_permissions(fresh(user))


def test_it_gives_an_inactive_user_nothing_and_a_superuser_everything():
    inactive = UserFactory(role=Role.MANAGER, is_active=False)
    assert ModelBackend().get_all_permissions(fresh(inactive)) == set()
    superuser = UserFactory(is_superuser=True)
    assert len(ModelBackend().get_all_permissions(fresh(superuser))) == Permission.objects.count()


def test_it_reads_roles_and_permissions_in_one_query(personas, django_assert_num_queries):
    manager = fresh(personas.manager_a)
    with django_assert_num_queries(1):
        assert user_roles(manager) == {Role.MANAGER}
        assert manager.has_perm("crm.view_amounts")
        assert not manager.has_perm("crm.no_such_permission")


def test_it_loads_the_user_with_their_profile_in_one_query(personas, django_assert_num_queries):
    with django_assert_num_queries(1):
        user = ModelBackend().get_user(personas.rep_a.pk)
        assert user.profile.team_id == personas.team_a.pk


def test_it_signs_in_a_user_without_a_profile_and_refuses_an_inactive_one():
    bare = get_user_model().objects.create_user("bare", password="x")
    assert ModelBackend().get_user(bare.pk) == bare
    gone = UserFactory(is_active=False)
    assert ModelBackend().get_user(gone.pk) is None
    assert ModelBackend().get_user(10**9) is None


def test_the_site_signs_users_in_through_it(settings):
    assert "crm.backends.ModelBackend" in settings.AUTHENTICATION_BACKENDS
    assert "django.contrib.auth.backends.ModelBackend" not in settings.AUTHENTICATION_BACKENDS
