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
