"""Celery tasks of the customer archive: thin wrappers over services, given ids only."""

from celery import shared_task

from .services import imports


@shared_task(name="accounts.tasks.validate_import")
def validate_import(job_id: int) -> None:
    """Check a large upload outside the request; the job ends PREVIEWED or FAILED."""
    imports.validate_job(job_id)


@shared_task(name="accounts.tasks.apply_import")
def apply_import(job_id: int) -> bool:
    """Write a claimed import all-or-nothing; a second delivery finds nothing to claim."""
    return imports.apply_job(job_id)


@shared_task(name="accounts.tasks.churn_scan")
def churn_scan() -> dict:
    """Weekly health scan; a re-run in the same week changes nothing and opens no second case."""
    from .services.churn import run_scan

    return run_scan()


@shared_task(name="accounts.tasks.quarterly_retier")
def quarterly_retier() -> dict:
    """The quarterly review: re-tier everyone once per quarter (a second delivery does nothing)."""
    from .services.tiering import quarterly_review

    plan = quarterly_review()
    if plan is None:
        return {"skipped": True}
    return {"customers": plan.total, "changed": plan.changes, "moves": plan.moves}
