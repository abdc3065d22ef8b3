"""Sign-in throttling, sessions, password rules, and the audit trail of what people did."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib import admin
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Contact
from accounts.services import customers as customer_services
from crm import audit
from crm.models import AuditAction, AuditEntry
from tests.security.routes import app_route_names

PASSWORD = "pw-Secret-123"  # tests.factories.UserFactory
IP_1, IP_2 = "10.0.0.1", "10.0.0.2"


def sign_in(client, username, password, ip=IP_1):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


# --- throttling -----------------------------------------------------------------------------


def test_five_failures_lock_that_username_from_that_address_only(personas, client):
    for _attempt in range(4):
        assert sign_in(client, "rep_a", "wrong").status_code == 200  # the form again, with its error
    assert sign_in(client, "rep_a", "wrong").status_code == 429  # the fifth failure locks
    locked = sign_in(client, "rep_a", PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert "registration/lockout.html" in [t.name for t in locked.templates]
    assert "_auth_user_id" not in client.session

    assert sign_in(client, "rep_b", PASSWORD).status_code == 302  # another user, same address
    client.logout()
    assert sign_in(client, "rep_a", PASSWORD, ip=IP_2).status_code == 302  # same user, another address


def test_the_lockout_page_speaks_the_users_language(personas, client):
    for _attempt in range(6):
        response = sign_in(client, "rep_a", "wrong")
    client.cookies["django_language"] = "en"
    english = sign_in(client, "rep_a", "wrong")
    assert "Too many failed sign-ins" in english.content.decode()
    assert english.status_code == response.status_code == 429


def test_every_sign_in_success_failure_and_lockout_is_audited(personas, client):
    for _attempt in range(5):
        sign_in(client, "rep_a", "wrong")
    entries = AuditEntry.objects.order_by("id")
    failed = entries.filter(action=AuditAction.LOGIN_FAILED, username="rep_a")
    assert failed.count() == 5
    sign_in(client, "rep_a", PASSWORD)  # refused while locked: one more failure
    sign_in(client, "rep_b", PASSWORD)
    assert failed.count() == 6
    assert {e.ip for e in failed} == {IP_1}
    assert entries.filter(action=AuditAction.LOCKOUT, username="rep_a").exists()
    assert entries.filter(action=AuditAction.LOGIN, actor=personas.rep_b).count() == 1
    assert not entries.filter(action=AuditAction.LOGIN, actor=personas.rep_a).exists()
    assert all("wrong" not in str(e.changes) and PASSWORD not in str(e.changes) for e in entries)


# --- sessions -------------------------------------------------------------------------------


def test_the_session_key_changes_at_sign_in(personas, client):
    client.get(reverse("login"))
    session = client.session
    session["before"] = 1
    session.save()
    before = session.session_key
    assert sign_in(client, "rep_a", PASSWORD).status_code == 302
    assert client.session.session_key != before


def test_an_idle_session_ends_after_30_minutes(personas, client):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, "rep_a", PASSWORD)
        assert client.get(reverse("crm:home")).status_code == 200
        traveller.shift(timedelta(minutes=29))
        assert client.get(reverse("crm:home")).status_code == 200  # activity keeps it alive
        traveller.shift(timedelta(minutes=31))
        response = client.get(reverse("crm:home"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert AuditEntry.objects.filter(action=AuditAction.LOGOUT, actor=personas.rep_a).exists()


def test_an_active_session_still_ends_12_hours_after_sign_in(personas, client):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, "rep_a", PASSWORD)
        for _step in range(35):  # a request every 20 minutes: 11 h 40 min
            traveller.shift(timedelta(minutes=20))
            assert client.get(reverse("crm:home")).status_code == 200
        traveller.shift(timedelta(minutes=25))
        response = client.get(reverse("crm:home"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_timeouts_come_from_settings(personas, client, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "rep_a", PASSWORD)
        traveller.shift(timedelta(seconds=90))
        assert client.get(reverse("crm:home")).status_code == 302


# --- passwords ------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["12345678901", "password123", "short1!"])
def test_weak_passwords_are_refused(personas, password):
    with pytest.raises(ValidationError):
        validate_password(password, user=personas.rep_a)


def test_tests_hash_fast(settings):
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- audit ----------------------------------------------------------------------------------


def test_denied_access_is_audited_with_who_what_and_status(personas, client_for):
    customer = personas.customer_a
    assert client_for(personas.rep_c).get(reverse("accounts:customer_detail", args=[customer.pk])).status_code == 404
    assert client_for(personas.finance).get(reverse("accounts:customer_edit", args=[customer.pk])).status_code == 403
    denied = AuditEntry.objects.filter(action=AuditAction.DENIED).order_by("id")
    assert [(e.actor, e.status, e.object_type, e.object_id) for e in denied] == [
        (personas.rep_c, 404, "accounts:customer_detail", str(customer.pk)),
        (personas.finance, 403, "accounts:customer_edit", str(customer.pk)),
    ]


def test_every_export_is_audited(personas, client_for):
    client = client_for(personas.manager_a)
    assert client.get(reverse("accounts:customer_list"), {"_export": "csv", "q": "MARKER"}).status_code == 200
    assert client.get(reverse("receivables:overdue"), {"export": "xlsx"}).status_code == 200
    exports = AuditEntry.objects.filter(action=AuditAction.EXPORT, actor=personas.manager_a).order_by("id")
    assert [(e.object_type, e.changes["format"]) for e in exports] == [
        ("accounts.Customer", "csv"),
        ("receivables.overdue", "xlsx"),
    ]
    assert exports[0].changes["filters"] == {"q": "MARKER"}


def test_customer_changes_show_in_its_trail_with_actor_and_fields(personas, client_for):
    customer = personas.customer_a
    customer.city = "杭州"
    customer_services.update_customer(customer=customer, by=personas.rep_a, tags=[], contacts=[])
    trail = audit.trail_for_customer(customer.pk, show_amounts=False)
    change = next(
        item for item in trail if item.action == AuditAction.UPDATE and item.object_type == "accounts.Customer"
    )
    assert change.actor == personas.rep_a
    assert any(new == "杭州" for _label, _old, new in change.changes)
    assert audit.trail_for_user(personas.rep_a.pk, show_amounts=False)[0].object_repr == customer.name


def test_amount_changes_are_masked_for_basic_info_viewers(personas):
    customer = personas.customer_a
    customer.budget = 123456
    customer_services.update_customer(customer=customer, by=personas.rep_a, tags=[], contacts=[])
    masked = audit.trail_for_customer(customer.pk, show_amounts=False)[0]
    shown = audit.trail_for_customer(customer.pk, show_amounts=True)[0]
    assert "123,456.00" not in str(masked.changes) and "•••" in str(masked.changes)
    assert "123,456.00" in str(shown.changes)


def test_audit_rows_cannot_be_changed_or_deleted(personas):
    entry = audit.record(AuditAction.EXPORT, actor=personas.admin, object_type="x")
    entry.object_type = "y"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    assert AuditEntry not in admin.site._registry  # no admin page can edit them
    assert not {name for name in app_route_names() if "audit" in name and name.endswith(("edit", "delete"))}


def test_contact_create_and_delete_show_in_the_customer_trail(personas):
    contact = customer_services.save_contact(
        contact=Contact(customer=personas.customer_a, name="张三", role="user"), by=personas.rep_a
    )
    customer_services.delete_contact(contact=contact, by=personas.manager_a)
    trail = [
        i
        for i in audit.trail_for_customer(personas.customer_a.pk, show_amounts=True)
        if i.object_type == "accounts.Contact"
    ]
    assert [(i.action, i.actor) for i in trail] == [
        (AuditAction.DELETE, personas.manager_a),
        (AuditAction.CREATE, personas.rep_a),
    ]
