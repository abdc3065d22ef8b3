"""Customer search: by name, credit code, or a contact's name or phone — fast at a million rows.

Two shapes, chosen by how common the term is:

* A rare term (a company or a person): each lookup is served by an index — trigram GIN indexes
  for a term of three or more characters, the two-character index `crm_bigrams` for a term of
  two (a Chinese name or word is often two characters, which trigrams cannot serve; pg_bigm is
  not packaged for Debian, accounts/migrations/0006) — and the matching ids, at most
  `ID_SET_LIMIT`, restrict the list.
* A common term ("科技" is in a fifth of all company names): collecting every match would read
  most of the table only to show one page. When the lookups find more than `ID_SET_LIMIT`, the
  list is instead walked in its own order and each row tested, which stops after a page. For a
  two-character term PostgreSQL's statistics of the bigram index already know how common it is
  (the planner's estimate of "科技" is within 1 % of the truth): above `COMMON_ESTIMATE` the walk
  starts without first collecting 2,000 ids from a 200,000-entry index scan. Trigram estimates
  of a longer term are guesses, so those always ask the indexes.

Credit codes and phones are only searched for a term that could be part of one: a Chinese word
cannot, and its lookup would scan a million-row index for nothing.
"""

import json

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import Exists, Func, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Upper

from .models import Contact, Customer
from .validators import CREDIT_CODE_ALPHABET

ID_SET_LIMIT = 2000
COMMON_ESTIMATE = 10 * ID_SET_LIMIT  # planner's rows for a bigram: far past the id set, so walk


class Bigrams(Func):
    """crm_bigrams(UPPER(field)): the distinct two-character pieces of a text (PostgreSQL)."""

    function = "crm_bigrams"
    output_field = ArrayField(TextField())

    def __init__(self, field: str):
        super().__init__(Upper(field))


def could_be_credit_code(value: str) -> bool:
    """A prefix of a unified social credit code: only characters of its alphabet."""
    return all(char in CREDIT_CODE_ALPHABET for char in value.upper())


def could_be_phone(value: str) -> bool:
    """Part of a phone number: digits, possibly with the separators phones are written with."""
    return any(char.isdigit() for char in value) and all(char.isdigit() or char in "+-() " for char in value)


def _uses_bigrams(term: str) -> bool:
    return connection.vendor == "postgresql" and len(term) == 2


def _name_contains(queryset: QuerySet, term: str) -> QuerySet:
    if _uses_bigrams(term):
        return queryset.alias(name_bigrams=Bigrams("name")).filter(name_bigrams__contains=[term.upper()])
    return queryset.filter(name__icontains=term)


def _lookups(term: str) -> list[QuerySet]:
    """Index-friendly queries of customer ids, one per way a customer can match."""
    lookups = [
        _name_contains(Customer.objects.all(), term).values_list("pk", flat=True),
        _name_contains(Contact.objects.all(), term).values_list("customer_id", flat=True),
    ]
    if could_be_credit_code(term):
        lookups.append(Customer.objects.filter(credit_code__istartswith=term).values_list("pk", flat=True))
    if could_be_phone(term):
        lookups.append(Contact.objects.filter(phone__contains=term).values_list("customer_id", flat=True))
    return [lookup.order_by() for lookup in lookups]


def _row_matches(term: str) -> Q:
    """The same test for one customer row (for walking a list in its order). The contact part
    keeps the indexed form: PostgreSQL runs it once, as a hashed set, not once per row."""
    contacts = Contact.objects.filter(customer=OuterRef("pk"))
    condition = Q(name__icontains=term) | Exists(_name_contains(contacts, term))
    if could_be_credit_code(term):
        condition |= Q(credit_code__istartswith=term)
    if could_be_phone(term):
        condition |= Exists(contacts.filter(phone__contains=term))
    return condition


def search_customers(queryset: QuerySet, term: str) -> QuerySet:
    """`queryset` narrowed to the customers matching `term`; one row per customer."""
    term = term.strip()
    if not term:
        return queryset
    first, *rest = _lookups(term)
    if not (_uses_bigrams(term) and _estimated_rows(first) > COMMON_ESTIMATE):
        found = list(first.union(*rest, all=True)[: ID_SET_LIMIT + 1])  # a customer may come twice
        if len(found) <= ID_SET_LIMIT:
            return queryset.filter(pk__in=set(found))
    return queryset.filter(_row_matches(term))  # a common term: walk the list


def _estimated_rows(queryset: QuerySet) -> int:
    """The planner's row estimate of a query (EXPLAIN without running it, ~1 ms)."""
    return json.loads(queryset.explain(format="json"))[0]["Plan"]["Plan Rows"]
