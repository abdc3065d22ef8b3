"""Pluggable SMS backends for nurture touches (setting `LEADS_SMS_BACKEND`, a dotted class path).

A backend has `send_messages(messages: list[tuple[str, str]]) -> int` taking (phone, text)
pairs and returning how many were sent. The default only logs; production plugs a provider's
client in with the same interface. Tests use `LocmemSMSBackend`, which keeps an outbox.
"""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("leads.sms")

DEFAULT_BACKEND = "leads.sms.LoggingSMSBackend"


class LoggingSMSBackend:
    def send_messages(self, messages: list[tuple[str, str]]) -> int:
        for phone, text in messages:
            logger.info("SMS to %s: %s", phone, text)
        return len(messages)


class LocmemSMSBackend:
    outbox: list[tuple[str, str]] = []

    def send_messages(self, messages: list[tuple[str, str]]) -> int:
        type(self).outbox.extend(messages)
        return len(messages)


def get_backend():
    return import_string(getattr(settings, "LEADS_SMS_BACKEND", DEFAULT_BACKEND) or DEFAULT_BACKEND)()
