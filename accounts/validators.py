"""Validators for Chinese business identifiers and phone numbers."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z); the last is a checksum.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CREDIT_CODE_RE = re.compile(rf"^[{CREDIT_CODE_ALPHABET}]{{18}}$")

MOBILE_RE = re.compile(r"^(?:\+?86[- ]?)?1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^(?:\+?86[- ]?)?0\d{2,3}[- ]?\d{7,8}(?:[- ]\d{1,6})?$")
SERVICE_RE = re.compile(r"^[48]00[- ]?\d{3}[- ]?\d{4}$")


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=False))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> None:
    code = (value or "").strip().upper()
    if not CREDIT_CODE_RE.match(code):
        raise ValidationError(
            _("A unified social credit code has 18 digits or capital letters (no I, O, S, V, Z)."), code="format"
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("This unified social credit code fails its check digit: please re-check it."), code="checksum"
        )


def validate_phone(value: str) -> None:
    phone = (value or "").strip()
    if phone and not (MOBILE_RE.match(phone) or LANDLINE_RE.match(phone) or SERVICE_RE.match(phone)):
        raise ValidationError(
            _("Enter a Chinese mobile (e.g. 13812345678) or landline number (e.g. 021-12345678)."), code="phone"
        )
