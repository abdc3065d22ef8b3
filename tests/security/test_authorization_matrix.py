"""Authorization matrix (OWASP WSTG-ATHZ-04): every URL × method × persona against what it must get.

Personas (tests/conftest.py): rep_a and rep_b in team A (manager_a), rep_c in team B (manager_b),
finance, admin. Each rep owns one of everything (tests/security/world.py) with a marker; object
URLs are filled with rep_a's records. Outcomes: OK (200/302), DENY (403: visible but forbidden),
HIDDEN (404: not visible), NA (405). No 200 body may contain a marker of a rep the persona may
not see.

A URL name missing here fails `test_every_url_has_a_matrix_entry`: add one small `Entry`.
Keys may carry a query string ("name?export=csv") to check a variant of the same URL.
"""

import pytest
from django.core.cache import cache
from django.test import Client

from tests.security.matrix import HIDDEN, NA, OK, Entry, everyone, isolated_request, outcome_of, roles
from tests.security.routes import app_route_names
from tests.security.world import PERSONAS, SECRET_TEXTS, build_world

# --- shorthands for the common shapes -----------------------------------------------------------

ANY_USER = everyone(OK)
NOT_OFFERED = everyone(NA)
SALES = roles(ok="rep_a rep_b rep_c manager_a manager_b admin", deny="finance")
MANAGERS = roles(ok="manager_a manager_b admin", deny="rep_a rep_b rep_c finance")
FINANCE = roles(ok="finance admin", deny="rep_a rep_b rep_c manager_a manager_b")
REPORT_READERS = roles(ok="manager_a manager_b finance admin", deny="rep_a rep_b rep_c")
EXPORTERS = REPORT_READERS
# rep_a's record: its owner, their manager and admins act; others in sales do not see it.
OWNER_EDIT = roles(ok="rep_a manager_a admin", deny="finance", hidden="rep_b rep_c manager_b")
# …the same, where finance may read it too (customers, contracts).
OWNER_EDIT_FINANCE_READS = roles(ok="rep_a manager_a finance admin", hidden="rep_b rep_c manager_b")
# Team actions on rep_a's record: the manager and admins; the owner sees it but may not.
MANAGER_OF_A = roles(ok="manager_a admin", deny="rep_a finance", hidden="rep_b rep_c manager_b")
IMPORTERS = roles(ok="manager_a manager_b admin", deny="rep_a rep_b rep_c finance")
# An import job started by manager_a.
IMPORT_JOB = roles(ok="manager_a admin", deny="rep_a rep_b rep_c finance", hidden="manager_b")
TRANSFER_A = roles(ok="manager_a admin", deny="rep_a rep_b rep_c finance", hidden="manager_b")
# Audit trails: managers and admins only (403 before visibility), then the team's manager (404).
AUDIT_A = TRANSFER_A


def customer_a(w):
    return {"pk": w.a.customer.pk}


def default_strategy() -> int:
    from accounts.services.tiering import ensure_default_strategies

    ensure_default_strategies()
    from accounts.models import MaintenanceStrategy

    return MaintenanceStrategy.objects.order_by("pk").values_list("pk", flat=True).first()


# A retention case of rep_a's customer: its owner, their manager and admins; hidden from everyone else.
CASE_A = roles(ok="rep_a manager_a admin", hidden="rep_b rep_c manager_b finance")


def retention_case_a(w):
    from django.utils import timezone

    from accounts.models import RetentionCase

    now = timezone.now()
    case, _created = RetentionCase.objects.get_or_create(
        customer=w.a.customer, week="2026-W01", defaults={"opened_at": now, "contact_due_at": now}
    )
    return {"pk": case.pk}


def usage_import_a(w):
    """A usage-activity import job started by manager_a (the world holds customer and lead imports)."""
    from django.core.files.base import ContentFile

    from accounts.models import ImportJob

    job = ImportJob.objects.filter(kind="usage", created_by=w.user("manager_a")).first()
    if job is None:
        job = ImportJob(kind="usage", original_name="usage.csv", created_by=w.user("manager_a"), report={"errors": []})
        job.file.save("usage.csv", ContentFile(b"customer,week,logins\n"), save=False)
        job.save()
    return {"pk": job.pk}


MATRIX: dict[str, Entry] = {
    # crm
    "crm:home": Entry(get=ANY_USER, post=ANY_USER),
    "crm:status": Entry(get=MANAGERS, post=MANAGERS),
    "crm:preferences": Entry(get=ANY_USER, post=ANY_USER),
    "crm:set_language": Entry(get=NOT_OFFERED, post=ANY_USER),
    "crm:audit_users": Entry(get=MANAGERS, post=NOT_OFFERED),
    "crm:audit_customer": Entry(get=AUDIT_A, post=NOT_OFFERED, kwargs=customer_a),
    "crm:audit_user": Entry(get=AUDIT_A, post=NOT_OFFERED, kwargs=lambda w: {"pk": w.user("rep_a").pk}),
    "login": Entry(get=ANY_USER, post=ANY_USER),
    "logout": Entry(get=NOT_OFFERED, post=everyone("login")),
    "password_change": Entry(get=ANY_USER, post=ANY_USER),
    "password_change_done": Entry(get=ANY_USER, post=NOT_OFFERED),
    "javascript-catalog": Entry(get=ANY_USER, post=NOT_OFFERED),
    "public_lead_form": Entry(get=ANY_USER, post=ANY_USER),
    "nps_answer": Entry(get=everyone(HIDDEN), post=everyone(HIDDEN), kwargs=lambda w: {"token": "unknown"}),
    # accounts: archive
    "accounts:customer_list": Entry(get=ANY_USER, post=NOT_OFFERED, query="q=MARKER"),
    "accounts:customer_list?_export=csv": Entry(get=EXPORTERS, query="_export=csv"),
    "accounts:customer_list?_export=xlsx": Entry(get=EXPORTERS, query="_export=xlsx&q=MARKER"),
    "accounts:customer_create": Entry(get=SALES, post=SALES),
    "accounts:customer_bulk": Entry(get=NOT_OFFERED, post=ANY_USER),
    "accounts:customer_columns": Entry(get=NOT_OFFERED, post=ANY_USER),
    "accounts:incomplete": Entry(
        get=MANAGERS, post=roles(na="manager_a manager_b admin", deny="rep_a rep_b rep_c finance")
    ),
    "accounts:customer_detail": Entry(get=OWNER_EDIT_FINANCE_READS, post=NOT_OFFERED, kwargs=customer_a),
    "accounts:customer_edit": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=customer_a),
    "accounts:contact_create": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=customer_a),
    "accounts:contact_edit": Entry(
        get=OWNER_EDIT, post=OWNER_EDIT, kwargs=lambda w: {"pk": w.a.customer.pk, "contact_pk": w.a.contact.pk}
    ),
    "accounts:contact_delete": Entry(
        get=OWNER_EDIT, post=OWNER_EDIT, kwargs=lambda w: {"pk": w.a.customer.pk, "contact_pk": w.a.contact.pk}
    ),
    # accounts: tools
    "accounts:import_upload": Entry(get=IMPORTERS, post=IMPORTERS),
    "accounts:import_template": Entry(
        get=IMPORTERS, post=roles(na="manager_a manager_b admin", deny="rep_a rep_b rep_c finance")
    ),
    "accounts:import_detail": Entry(
        get=IMPORT_JOB,
        post=roles(na="manager_a manager_b admin", deny="rep_a rep_b rep_c finance"),
        kwargs=lambda w: {"pk": w.customer_import.pk},
    ),
    "accounts:import_progress": Entry(
        get=IMPORT_JOB,
        post=roles(na="manager_a manager_b admin", deny="rep_a rep_b rep_c finance"),
        kwargs=lambda w: {"pk": w.customer_import.pk},
    ),
    "accounts:import_apply": Entry(
        get=roles(na="manager_a manager_b admin", deny="rep_a rep_b rep_c finance"),
        post=IMPORT_JOB,
        kwargs=lambda w: {"pk": w.customer_import.pk},
    ),
    "accounts:handover": Entry(get=IMPORTERS, post=IMPORTERS),
    "accounts:merge_search": Entry(
        get=TRANSFER_A,
        post=roles(na="manager_a manager_b admin", deny="rep_a rep_b rep_c finance"),
        kwargs=customer_a,
        query="q=MARKER",
    ),
    "accounts:merge": Entry(
        get=TRANSFER_A, post=TRANSFER_A, kwargs=lambda w: {"pk": w.a.customer.pk, "other": w.owned["B"].customer.pk}
    ),
    # accounts: tiering (issue 5) — managers and admins manage; the owner edits the inputs
    "accounts:tier_matrix": Entry(get=MANAGERS, post=NOT_OFFERED),
    "accounts:tier_cell": Entry(get=MANAGERS, post=NOT_OFFERED),
    "accounts:tier_cell?_export=csv": Entry(get=MANAGERS, query="_export=csv"),
    "accounts:tier_policy": Entry(get=MANAGERS, post=MANAGERS),
    "accounts:tier_retier": Entry(get=MANAGERS, post=MANAGERS),
    "accounts:tier_runs": Entry(get=MANAGERS, post=NOT_OFFERED),
    "accounts:tier_strategies": Entry(get=MANAGERS, post=NOT_OFFERED),
    "accounts:tier_strategy_new": Entry(get=MANAGERS, post=MANAGERS),
    "accounts:tier_strategy_edit": Entry(get=MANAGERS, post=MANAGERS, kwargs=lambda w: {"pk": default_strategy()}),
    "accounts:tier_override": Entry(get=MANAGER_OF_A, post=MANAGER_OF_A, kwargs=customer_a),
    "accounts:tier_inputs": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=customer_a),
    # accounts: churn early warning (issue 8) — managers' list, report and rules; the owner works the case
    "accounts:churn_warnings": Entry(get=MANAGERS, post=NOT_OFFERED),
    "accounts:churn_warnings?_export=csv": Entry(get=MANAGERS, query="_export=csv"),
    "accounts:churn_scan": Entry(get=NOT_OFFERED, post=MANAGERS),
    "accounts:health_policy": Entry(get=MANAGERS, post=MANAGERS),
    "accounts:churn_report": Entry(get=MANAGERS, post=NOT_OFFERED),
    "accounts:retention_case": Entry(get=CASE_A, post=NOT_OFFERED, kwargs=retention_case_a),
    "accounts:retention_contact": Entry(get=NOT_OFFERED, post=CASE_A, kwargs=retention_case_a),
    "accounts:retention_plan": Entry(get=NOT_OFFERED, post=CASE_A, kwargs=retention_case_a),
    "accounts:retention_close": Entry(get=NOT_OFFERED, post=CASE_A, kwargs=retention_case_a),
    "accounts:mark_churned": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=customer_a),
    "accounts:usage_token": Entry(get=NOT_OFFERED, post=OWNER_EDIT, kwargs=customer_a),
    "usage_api": Entry(get=NOT_OFFERED, post=everyone(401)),  # per-customer API token, not a session
    # usage activity import (CSV/Excel): managers and admins with the import permission; a job is its creator's
    "accounts:usage_import": Entry(get=IMPORTERS, post=IMPORTERS),
    "accounts:usage_import_template": Entry(
        get=IMPORTERS, post=roles(na="manager_a manager_b admin", deny="rep_a rep_b rep_c finance")
    ),
    "accounts:usage_import_detail": Entry(
        get=IMPORT_JOB,
        post=roles(na="manager_a manager_b admin", deny="rep_a rep_b rep_c finance"),
        kwargs=usage_import_a,
    ),
    "accounts:usage_import_progress": Entry(
        get=IMPORT_JOB,
        post=roles(na="manager_a manager_b admin", deny="rep_a rep_b rep_c finance"),
        kwargs=usage_import_a,
    ),
    "accounts:usage_import_apply": Entry(
        get=roles(na="manager_a manager_b admin", deny="rep_a rep_b rep_c finance"),
        post=IMPORT_JOB,
        kwargs=usage_import_a,
    ),
    # dashboards (issue 10): sales readers, money readers, receivables readers; exports for exporters
    "dashboards:index": Entry(get=ANY_USER, post=ANY_USER),
    "dashboards:sales": Entry(get=SALES, post=SALES),
    "dashboards:sales?export=xlsx": Entry(get=MANAGERS, query="export=xlsx"),
    "dashboards:customers": Entry(get=SALES, post=SALES),
    "dashboards:customers?export=xlsx": Entry(get=MANAGERS, query="export=xlsx"),
    "dashboards:acquisition": Entry(get=MANAGERS, post=MANAGERS),
    "dashboards:acquisition?export=xlsx": Entry(get=MANAGERS, query="export=xlsx"),
    "dashboards:discipline": Entry(get=SALES, post=SALES),
    "dashboards:discipline?export=xlsx": Entry(get=MANAGERS, query="export=xlsx"),
    "dashboards:receivables": Entry(get=REPORT_READERS, post=REPORT_READERS),
    "dashboards:receivables?export=xlsx": Entry(get=REPORT_READERS, query="export=xlsx"),
    "dashboards:cross_sell": Entry(get=SALES, post=SALES),
    "dashboards:cross_sell?export=xlsx": Entry(get=MANAGERS, query="export=xlsx"),
    "dashboards:checklist": Entry(get=EXPORTERS, post=EXPORTERS),
    "dashboards:checklist?export=xlsx": Entry(get=EXPORTERS, query="export=xlsx"),
    "dashboards:targets": Entry(get=MANAGERS, post=MANAGERS),
    "dashboards:target_delete": Entry(get=NOT_OFFERED, post=TRANSFER_A, kwargs=lambda w: {"pk": w.target.pk}),
    "dashboards:settings": Entry(get=NOT_OFFERED, post=MANAGERS),
    # leads
    "leads:lead_list": Entry(
        get=SALES, post=roles(na="rep_a rep_b rep_c manager_a manager_b admin", deny="finance"), query="q=MARKER"
    ),
    "leads:pool": Entry(get=SALES, post=roles(na="rep_a rep_b rep_c manager_a manager_b admin", deny="finance")),
    "leads:lead_create": Entry(get=SALES, post=SALES),
    "leads:lead_detail": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=lambda w: {"pk": w.a.lead.pk}),
    "leads:lead_edit": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=lambda w: {"pk": w.a.lead.pk}),
    "leads:lead_claim": Entry(get=NOT_OFFERED, post=OWNER_EDIT, kwargs=lambda w: {"pk": w.a.lead.pk}),
    "leads:lead_release": Entry(
        get=NOT_OFFERED,
        post=roles(ok="rep_a manager_a admin", hidden="rep_b rep_c manager_b finance"),
        kwargs=lambda w: {"pk": w.a.lead.pk},
    ),
    "leads:lead_interaction": Entry(
        get=NOT_OFFERED,
        post=roles(ok="rep_a manager_a admin", hidden="rep_b rep_c manager_b finance"),
        kwargs=lambda w: {"pk": w.a.lead.pk},
    ),
    "leads:lead_reassign": Entry(
        get=NOT_OFFERED,
        post=roles(ok="manager_a admin", deny="rep_a rep_b rep_c finance", hidden="manager_b"),
        kwargs=lambda w: {"pk": w.a.lead.pk},
    ),
    "leads:lead_convert": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=lambda w: {"pk": w.a.lead.pk}),
    "leads:customer_claim": Entry(get=NOT_OFFERED, post=SALES, kwargs=lambda w: {"pk": w.pool_customer.pk}),
    "leads:scoring_policy": Entry(get=MANAGERS, post=MANAGERS),
    "leads:assignment_policy": Entry(get=MANAGERS, post=MANAGERS),
    "leads:pipeline": Entry(
        get=SALES, post=roles(na="rep_a rep_b rep_c manager_a manager_b admin", deny="finance"), query="q=MARKER"
    ),
    "leads:opportunity_detail": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=lambda w: {"pk": w.a.opportunity.pk}),
    "leads:opportunity_stage": Entry(get=NOT_OFFERED, post=OWNER_EDIT, kwargs=lambda w: {"pk": w.a.opportunity.pk}),
    "leads:high_potential": Entry(get=SALES, post=SALES),
    "leads:channel_list": Entry(get=ANY_USER, post=ANY_USER),
    "leads:lead_import": Entry(get=IMPORTERS, post=IMPORTERS),
    "leads:lead_import_template": Entry(get=IMPORTERS, post=IMPORTERS),
    "leads:lead_import_detail": Entry(get=IMPORT_JOB, post=IMPORT_JOB, kwargs=lambda w: {"pk": w.lead_import.pk}),
    "leads:lead_import_apply": Entry(get=NOT_OFFERED, post=IMPORT_JOB, kwargs=lambda w: {"pk": w.lead_import.pk}),
    # follow-ups
    "followups:my_day": Entry(get=SALES, post=SALES),
    "followups:team": Entry(get=MANAGERS, post=MANAGERS),
    "followups:log": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=lambda w: {"customer_pk": w.a.customer.pk}),
    "followups:customer": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=customer_a),
    "followups:task_list": Entry(
        get=SALES, post=roles(na="rep_a rep_b rep_c manager_a manager_b admin", deny="finance")
    ),
    "followups:task_create": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=lambda w: {"customer_pk": w.a.customer.pk}),
    "followups:task_reassign": Entry(
        get=NOT_OFFERED,
        post=roles(ok="manager_a admin", deny="rep_a rep_b rep_c finance", hidden="manager_b"),
        kwargs=lambda w: {"pk": w.a.task.pk},
    ),
    "followups:task_cancel": Entry(
        get=NOT_OFFERED,
        post=roles(ok="rep_a manager_a admin", hidden="rep_b rep_c manager_b finance"),
        kwargs=lambda w: {"pk": w.a.task.pk},
    ),
    "followups:sop_list": Entry(get=MANAGERS, post=MANAGERS),
    "followups:sop_edit": Entry(get=MANAGERS, post=MANAGERS, kwargs=lambda w: {"stage": "prospect"}),
    "followups:complaint_list": Entry(
        get=SALES, post=roles(na="rep_a rep_b rep_c manager_a manager_b admin", deny="finance")
    ),
    "followups:complaint_create": Entry(
        get=OWNER_EDIT, post=OWNER_EDIT, kwargs=lambda w: {"customer_pk": w.a.customer.pk}
    ),
    "followups:complaint_detail": Entry(get=OWNER_EDIT, post=OWNER_EDIT, kwargs=lambda w: {"pk": w.a.complaint.pk}),
    "followups:complaint_respond": Entry(
        get=NOT_OFFERED,
        post=roles(ok="manager_a admin", deny="rep_a", hidden="rep_b rep_c manager_b finance"),
        kwargs=lambda w: {"pk": w.a.complaint.pk},
    ),
    "followups:complaint_resolve": Entry(
        get=NOT_OFFERED,
        post=roles(ok="manager_a admin", deny="rep_a", hidden="rep_b rep_c manager_b finance"),
        kwargs=lambda w: {"pk": w.a.complaint.pk},
    ),
    "followups:nps_report": Entry(get=MANAGERS, post=MANAGERS),
    "followups:channel_list": Entry(get=MANAGERS, post=MANAGERS),
    "followups:channel_edit": Entry(
        get=TRANSFER_A, post=TRANSFER_A, kwargs=lambda w: {"team_pk": w.channel.team_id, "kind": w.channel.kind}
    ),
    "followups:channel_test": Entry(get=NOT_OFFERED, post=TRANSFER_A, kwargs=lambda w: {"pk": w.channel.pk}),
    "followups:notifications": Entry(get=ANY_USER, post=ANY_USER),
    "followups:notifications_read": Entry(get=NOT_OFFERED, post=ANY_USER),
    # receivables
    "receivables:dashboard": Entry(get=REPORT_READERS, post=REPORT_READERS),
    "receivables:dashboard?export=csv": Entry(get=EXPORTERS, query="export=csv"),
    "receivables:overdue": Entry(get=ANY_USER, post=ANY_USER),
    "receivables:overdue?export=xlsx": Entry(
        get=roles(ok="manager_a manager_b finance admin", deny="rep_a rep_b rep_c"), query="export=xlsx"
    ),
    "receivables:contract_list": Entry(get=ANY_USER, post=ANY_USER),
    "receivables:contract_create": Entry(get=ANY_USER, post=ANY_USER),
    "receivables:contract_create?customer": Entry(
        get=roles(ok="manager_a finance admin", deny="rep_a", hidden="rep_b rep_c manager_b"),
        query="customer={customer_a}",
    ),
    "receivables:contract_detail": Entry(
        get=OWNER_EDIT_FINANCE_READS, post=OWNER_EDIT_FINANCE_READS, kwargs=lambda w: {"pk": w.a.contract.pk}
    ),
    "receivables:payment_create": Entry(
        get=NOT_OFFERED,
        post=roles(ok="finance admin", deny="rep_a manager_a", hidden="rep_b rep_c manager_b"),
        kwargs=lambda w: {"pk": w.a.contract.pk},
    ),
    "receivables:contract_approve": Entry(
        get=NOT_OFFERED,
        post=roles(ok="finance admin", deny="rep_a manager_a", hidden="rep_b rep_c manager_b"),
        kwargs=lambda w: {"pk": w.a.contract.pk},
    ),
    "receivables:approvals": Entry(get=FINANCE, post=FINANCE),
    "receivables:ratings": Entry(get=FINANCE, post=FINANCE),
    "receivables:rating_set": Entry(get=NOT_OFFERED, post=FINANCE, kwargs=lambda w: {"customer_pk": w.a.customer.pk}),
    "receivables:policies": Entry(get=FINANCE, post=FINANCE),
    "receivables:blacklist": Entry(get=FINANCE, post=FINANCE),
    "receivables:blacklist_lift": Entry(
        get=NOT_OFFERED, post=FINANCE, kwargs=lambda w: {"customer_pk": w.a.customer.pk}
    ),
}

# Which reps' markers each persona may meet (finance reads every customer and receivable).
VISIBLE_MARKERS = {
    "rep_a": {"A"},
    "rep_b": {"B"},
    "rep_c": {"C"},
    "manager_a": {"A", "B"},
    "manager_b": {"C"},
    "finance": {"A", "B", "C"},
    "admin": {"A", "B", "C"},
}


def test_every_url_has_a_matrix_entry():
    covered = {key.split("?")[0] for key in MATRIX}
    missing = sorted(name for name in app_route_names() - covered)
    assert not missing, (
        "URL names without an entry in tests/security/test_authorization_matrix.py MATRIX — add one "
        "Entry(get=…, post=…, kwargs=…) per name saying what each persona must get: " + ", ".join(missing)
    )


def test_the_matrix_names_only_real_urls():
    assert {key.split("?")[0] for key in MATRIX} <= app_route_names()


def _path(key: str, entry: Entry, world) -> str:
    path = entry.path(key, world)
    return path.replace("{customer_a}", str(world.a.customer.pk))


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_exactly_what_the_matrix_says(personas, persona):
    world = build_world(personas)
    user = world.user(persona)
    foreign = [f"MARKER-{letter}" for letter in "ABC" if letter not in VISIBLE_MARKERS[persona]]
    # Field level: basic-info roles (no crm.view_amounts) never meet an amount, margin or receivable.
    if not user.has_perm("crm.view_amounts"):
        foreign += SECRET_TEXTS
    client = Client(raise_request_exception=False)
    mismatches, leaks = [], []
    for key, entry in MATRIX.items():
        path = _path(key, entry, world)
        for method, expected in (("get", entry.get), ("post", entry.post)):
            if expected is None:
                continue
            cache.clear()  # rate limits (public form) must not carry over between requests
            client.cookies.pop("messages", None)
            client.force_login(user)
            response = isolated_request(client, method, path, entry.data(world) if method == "post" else {})
            got = outcome_of(response)
            if got != expected[persona]:
                mismatches.append(f"{method.upper()} {path} ({key}): expected {expected[persona]}, got {got}")
            if response.status_code in (200, 403, 404):  # error pages included
                body = response.content.decode("utf-8", errors="replace")
                leaks += [f"{method.upper()} {path}: {marker}" for marker in foreign if marker in body]
    assert mismatches == []
    assert leaks == []
