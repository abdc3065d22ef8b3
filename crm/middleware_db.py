"""A database outage answers with a clear, translated 503 page instead of a 500 or a hang.

When PostgreSQL is down (stopped, restarting, failing over) every request that touches it
fails with `OperationalError` — in a view, but also earlier, in the session or authentication
middleware. Django turns those exceptions into 500 responses layer by layer and sends
`got_request_exception` on the way; the receiver below marks the request, and this middleware,
near the top of the stack, swaps the 500 for `templates/503.html` with `Retry-After`. The page
needs no database (no context processors, no user). `DATABASE_CONNECT_TIMEOUT` in the settings
bounds how long a request waits for a database that does not answer.
"""

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import translation

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
_MARK = "_crm_database_unavailable"


@receiver(got_request_exception, dispatch_uid="crm.middleware_db.mark_database_outage")
def _mark_database_outage(sender, request=None, **kwargs):
    if request is not None and isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        setattr(request, _MARK, True)


def database_unavailable_response(request) -> HttpResponse:
    language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(request)
    with translation.override(language):
        body = render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS, "LANGUAGE_CODE": language})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Answer 503 (not 500) for any request that failed because the database is unreachable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, _MARK, False):
            logger.error("database unavailable: %s %s answered 503", request.method, request.path)
            return database_unavailable_response(request)
        return response
