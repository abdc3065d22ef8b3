import pytest

from followups.services import ensure_default_sops


@pytest.fixture
def sops(db):
    ensure_default_sops()


@pytest.fixture
def no_sop_emails(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
