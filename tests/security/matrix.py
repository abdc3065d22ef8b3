"""Machinery of the authorization matrix: entries, expected outcomes, and one isolated request.

An entry says, for one URL name, how to fill its placeholders from the world and what each persona
must get for each method. Outcomes: OK (200, or a 302 that is not a bounce to the login page),
DENY (403), HIDDEN (404), NA (405, the method is not offered). Every request runs in a rolled-back
savepoint, so entries never affect each other.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse

from tests.security.world import PERSONAS, World

OK, DENY, HIDDEN, NA = "ok", 403, 404, 405


def roles(*, ok: str = "", deny: str = "", hidden: str = "", na: str = "") -> dict[str, object]:
    """roles(ok="rep_a admin", deny="finance", hidden="…") → {persona: outcome}; every persona once."""
    outcome: dict[str, object] = {}
    for value, names in ((OK, ok), (DENY, deny), (HIDDEN, hidden), (NA, na)):
        for name in names.split():
            assert name in PERSONAS, f"unknown persona {name!r}"
            assert name not in outcome, f"persona {name!r} given twice"
            outcome[name] = value
    missing = set(PERSONAS) - set(outcome)
    assert not missing, f"no outcome for {sorted(missing)}"
    return outcome


def everyone(outcome) -> dict[str, object]:
    return dict.fromkeys(PERSONAS, outcome)


@dataclass(frozen=True)
class Entry:
    """One URL name. `get`/`post`: expected outcome per persona (None: the method answers 405 to all)."""

    get: dict | None
    post: dict | None = None
    kwargs: Callable[[World], dict] = field(default=lambda w: {})
    query: str = ""
    data: Callable[[World], dict] = field(default=lambda w: {})

    def path(self, name: str, world: World) -> str:
        url = reverse(name.split("?")[0], kwargs=self.kwargs(world))
        return f"{url}?{self.query}" if self.query else url


def outcome_of(response):
    code = response.status_code
    if code == 200:
        return OK
    if code == 302:
        return "login" if "/login/" in response["Location"] else OK
    return code


def isolated_request(client, method: str, path: str, data: dict):
    """One request whose writes are rolled back."""
    with transaction.atomic():
        response = getattr(client, method)(path, data)
        transaction.set_rollback(True)
    return response
