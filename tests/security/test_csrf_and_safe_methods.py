"""CSRF sweep: every route that takes a POST refuses one without the token; no GET writes anything."""

from django.apps import apps
from django.core.cache import cache
from django.test import Client

from tests.security.matrix import NA, isolated_request
from tests.security.test_authorization_matrix import MATRIX
from tests.security.world import build_world

# Token-authenticated machine endpoints: CSRF-exempt by design (no session cookie to ride on);
# without their token they refuse with this status.
TOKEN_AUTHENTICATED = {"usage_api": 401}


def _post_routes():
    return [(key, entry) for key, entry in MATRIX.items() if entry.post is not None and entry.post["admin"] != NA]


def test_every_state_changing_route_refuses_a_post_without_csrf_token(personas):
    world = build_world(personas)
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    accepted = []
    for key, entry in _post_routes():
        client.force_login(personas.admin)
        response = isolated_request(client, "post", entry.path(key, world), entry.data(world))
        if response.status_code != TOKEN_AUTHENTICATED.get(key, 403):
            accepted.append(f"{key}: {response.status_code}")
    assert accepted == []
    assert len(_post_routes()) > 40


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_no_get_changes_any_table(personas):
    world = build_world(personas)
    client = Client(raise_request_exception=False)
    changed = []
    for persona in ("rep_a", "manager_a", "finance", "admin"):
        client.force_login(world.user(persona))
        for key, entry in MATRIX.items():
            if entry.get is None:
                continue
            path = entry.path(key, world).replace("{customer_a}", str(world.a.customer.pk))
            cache.clear()
            before = _row_counts()
            client.get(path)
            after = _row_counts()
            diff = {
                label: after[label] - before[label]
                for label in after
                if after[label] != before[label] and label not in ("sessions.Session", "crm.AuditEntry")
            }
            if diff:
                changed.append(f"{persona} GET {path}: {diff}")
    assert changed == []
