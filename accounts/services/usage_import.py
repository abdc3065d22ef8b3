"""Usage activity import (Excel/CSV): weekly usage/login counts for the churn health signal.

A spec for the generic import engine (accounts.services.imports), not a second importer: the same
upload checks, preview with a per-row report, Celery tasks, progress and all-or-nothing apply.
Registered in AccountsConfig.ready. One row = one customer's count for one week:

- customer: the customer number as shown in the app (C0000123) or its unified social credit code,
  the two unique identifiers the customer import resolves. Only customers the importer may edit
  (`scope_owned`: a manager's teams, everything for admins) resolve; any other is reported as
  unknown, whether it exists or not, so the report leaks nothing.
- week start: any date, stored as the Monday of its week; not a future week.
- count: a whole number, 0 or more.

Apply is an upsert on (customer, week): the same numbers again change nothing, a new number for a
stored week replaces it (as the usage API does). Two rows of one file for the same customer and
week are an error (which one should win is the importer's call, not ours).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import scope_owned

from ..models import Customer, ImportJob, UsageWeek
from .churn import can_manage_churn, monday_of
from .imports import (
    LOOKUP_CHUNK,
    Column,
    ImportFileError,
    ImportSpec,
    ParsedRow,
    Validation,
    can_import,
    chunked,
    parse_credit_code,
    parse_date,
)

KIND = "usage"
MAX_COUNT = 1_000_000_000  # well inside PositiveIntegerField; larger is a typo, not usage
NUMBER_RE = re.compile(r"^C0*(\d{1,10})$")
WRITE_CHUNK = LOOKUP_CHUNK // 2  # (customer, week) pairs per lookup: two IN lists stay under 900 values


def can_import_usage(user) -> bool:
    """Sales managers and admins who hold the import permission."""
    return can_import(user) and can_manage_churn(user)


def parse_customer_ref(value: str) -> tuple[str, int | str]:
    """("pk", 123) for a customer number such as C0000123, ("credit_code", code) for a credit code."""
    text = re.sub(r"\s+", "", value).upper()
    if len(text) != 18 and (match := NUMBER_RE.match(text)):
        return ("pk", int(match.group(1)))
    if len(text) == 18:
        return ("credit_code", parse_credit_code(text))
    raise ValidationError(_("Enter a customer number such as C0000123 or an 18-character unified social credit code."))


def parse_week(value: str):
    monday = monday_of(parse_date(value))
    if monday > monday_of(timezone.localdate()):
        raise ValidationError(_("The week cannot be in the future."))
    return monday


def parse_count(value: str) -> int:
    text = value.replace(",", "").replace("，", "").replace(" ", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise ValidationError(_("Enter a whole number, 0 or more."))
    if number < 0 or number > MAX_COUNT:
        raise ValidationError(_("Enter a whole number, 0 or more."))
    return int(number)


class UsageImportSpec(ImportSpec):
    kind = KIND
    template_name = "usage"
    columns = (
        Column(
            "customer",
            "客户编号",
            "Customer no.",
            parse_customer_ref,
            True,
            (
                "客户",
                "客户编号或信用代码",
                "统一社会信用代码",
                "信用代码",
                "customer",
                "customer number",
                "number",
                "credit code",
            ),
            "C0000123",
            "C0000123",
        ),
        Column(
            "week_start",
            "周开始日期",
            "Week start",
            parse_week,
            True,
            ("周", "周一", "日期", "week", "week starting", "week start (Monday)", "date"),
            "2026-11-16",
            "2026-11-16",
        ),
        Column(
            "logins",
            "登录/使用次数",
            "Logins / usage count",
            parse_count,
            True,
            ("登录次数", "使用次数", "次数", "logins", "usage", "usage count", "count"),
            "42",
            "42",
        ),
    )

    def check(self, validation: Validation, *, user) -> None:
        if not can_import_usage(user):
            raise ImportFileError(_("Only sales managers and administrators may import usage figures."))
        refs = [(row, row.values.get("customer")) for row in validation.rows]
        by_pk, by_code = self._resolve(user, [ref for _row, ref in refs if ref])
        seen: dict[tuple[int, object], int] = {}
        for row, ref in refs:
            if not ref:
                continue  # already reported (blank or malformed)
            kind, value = ref
            found = (by_pk if kind == "pk" else by_code).get(value)
            if found is None:
                message = _("Unknown customer “%(value)s”.") % {"value": row.raw.get("customer", "")}
                validation.add_error(row.number, "customer", message)
                continue
            customer_id, merged_into_id = found
            if merged_into_id:
                message = _("This customer was merged into %(number)s: use that customer instead.")
                validation.add_error(row.number, "customer", message % {"number": Customer(pk=merged_into_id).number})
                continue
            row.values["customer_id"] = customer_id
            week = row.values.get("week_start")
            if week is None:
                continue
            key = (customer_id, week)
            if key in seen:
                message = _("Same customer and week as row %(row)d of this file.") % {"row": seen[key]}
                validation.add_error(row.number, "week_start", message)
            seen.setdefault(key, row.number)

    @staticmethod
    def _resolve(user, refs) -> tuple[dict, dict]:
        """Customers the importer may edit, by pk and by credit code: (pk, merged_into_id). Set-based."""
        scope = scope_owned(Customer.objects.order_by(), user)
        pks = sorted({value for kind, value in refs if kind == "pk"})
        codes = sorted({value for kind, value in refs if kind == "credit_code"})
        by_pk, by_code = {}, {}
        for chunk in chunked(pks):
            found = scope.filter(pk__in=chunk).values_list("pk", "merged_into_id")
            by_pk |= {pk: (pk, merged) for pk, merged in found}
        for chunk in chunked(codes):
            found = scope.filter(credit_code__in=chunk).values_list("credit_code", "pk", "merged_into_id")
            by_code |= {code: (pk, merged) for code, pk, merged in found}
        return by_pk, by_code

    def write(self, rows: list[ParsedRow], context: dict, *, user, job: ImportJob, progress) -> dict[str, int]:
        """Upsert on (customer, week), set-based: one lookup per chunk, then bulk create and update."""
        now = timezone.now()
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        done = 0
        for chunk in chunked(rows, WRITE_CHUNK):
            wanted = {(r.values["customer_id"], r.values["week_start"]): r.values["logins"] for r in chunk}
            stored = UsageWeek.objects.filter(
                customer_id__in={c for c, _w in wanted}, week_start__in={w for _c, w in wanted}
            ).values_list("pk", "customer_id", "week_start", "logins")
            existing = {(c, w): (pk, logins) for pk, c, w, logins in stored}
            create, update = [], []
            for (customer_id, week), logins in wanted.items():
                found = existing.get((customer_id, week))
                if found is None:
                    create.append(UsageWeek(customer_id=customer_id, week_start=week, logins=logins))
                elif found[1] != logins:
                    update.append(UsageWeek(pk=found[0], logins=logins, updated_at=now))
                else:
                    counts["unchanged"] += 1
            # A week posted through the API since the lookup is replaced, not a unique-constraint failure.
            UsageWeek.objects.bulk_create(
                create,
                update_conflicts=True,
                unique_fields=["customer", "week_start"],
                update_fields=["logins", "updated_at"],
            )
            UsageWeek.objects.bulk_update(update, ["logins", "updated_at"])
            counts["created"] += len(create)
            counts["updated"] += len(update)
            done += len(chunk)
            progress(done)
        return counts
