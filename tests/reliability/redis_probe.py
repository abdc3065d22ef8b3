"""Run by test_redis_down in a child process whose REDIS_URL points at the test's redis-server
(settings are read once, at start): `python -m tests.reliability.redis_probe serve|drain USER_ID`.
Prints one JSON line with what happened and how long it took."""

import json
import sys
import time

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import Customer  # noqa: E402
from crm.models import OutboxMessage  # noqa: E402


def serve(user_id: int) -> dict:
    """Pages and a committed write with an enqueued job, as a request would do them."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from crm.backends import planted_session_key
    from crm.tasks import heartbeat

    started = time.monotonic()
    client = Client(HTTP_HOST="localhost")  # a signed-in browser, its session planted as its cookie
    client.cookies[settings.SESSION_COOKIE_NAME] = planted_session_key(get_user_model().objects.get(pk=user_id))
    statuses = [client.get(path).status_code for path in ("/", "/customers/")]
    with transaction.atomic():
        customer = Customer.objects.create(name="REDIS-DOWN 写入", owner_id=user_id)
        transaction.on_commit(lambda: heartbeat.delay())
    return {
        "statuses": statuses,
        "customer": customer.pk,
        "parked": OutboxMessage.objects.filter(sent_at__isnull=True, kind="task").count(),
        "seconds": round(time.monotonic() - started, 2),
    }


def drain() -> dict:
    from crm.outbox import drain

    return drain()


if __name__ == "__main__":
    phase = sys.argv[1]
    result = serve(int(sys.argv[2])) if phase == "serve" else drain()
    print(json.dumps(result))
