import pytest

from leads.models import AssignmentPolicy, ScoringPolicy
from tests.leads.factories import ChannelFactory


@pytest.fixture
def policies(db):
    return ScoringPolicy.current(), AssignmentPolicy.current()


@pytest.fixture
def web(db):
    return ChannelFactory(code="website", name="官网", quality=60)


@pytest.fixture(autouse=True)
def _english_messages():
    """Service-level messages are asserted in English (the source language); requests pick their own."""
    from django.utils import translation

    with translation.override("en"):
        yield
