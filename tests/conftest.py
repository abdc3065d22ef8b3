"""Shared personas and helpers. Personas are the same everywhere, so tests read as sentences:

team A: manager_a manages it; rep_a and rep_b work in it.  team B: manager_b, rep_c.
finance and admin belong to no team. Each rep owns a customer with a marker name.
"""

import os
from types import SimpleNamespace

import pytest

from crm.roles import Role
from tests.factories import CustomerFactory, TeamFactory, UserFactory

IN_CI = bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Skip locally when a tool or service is missing, but fail in CI where everything must run."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture
def personas(db):
    team_a = TeamFactory(name="A队")
    team_b = TeamFactory(name="B队")
    manager_a = UserFactory(username="manager_a", role=Role.MANAGER, team=team_a)
    manager_b = UserFactory(username="manager_b", role=Role.MANAGER, team=team_b)
    team_a.manager, team_b.manager = manager_a, manager_b
    team_a.save()
    team_b.save()
    p = SimpleNamespace(
        team_a=team_a,
        team_b=team_b,
        manager_a=manager_a,
        manager_b=manager_b,
        rep_a=UserFactory(username="rep_a", role=Role.SALES_REP, team=team_a),
        rep_b=UserFactory(username="rep_b", role=Role.SENIOR_REP, team=team_a),
        rep_c=UserFactory(username="rep_c", role=Role.SALES_REP, team=team_b),
        finance=UserFactory(username="finance", role=Role.FINANCE),
        admin=UserFactory(username="admin", role=Role.ADMIN),
    )
    p.customer_a = CustomerFactory(name="MARKER-A 甲公司", owner=p.rep_a)
    p.customer_b = CustomerFactory(name="MARKER-B 乙公司", owner=p.rep_b)
    p.customer_c = CustomerFactory(name="MARKER-C 丙公司", owner=p.rep_c)
    return p


@pytest.fixture
def client_for(client):
    """client_for(user) → the test client signed in as that user."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
