"""The base of every CRM table: django-tables2 with rows that plan each column once.

For every cell, django-tables2 parses the column's accessor, looks the model field up to see
whether it has choices, asks `inspect.signature` which arguments the render method takes, and
reads a model attribute by first trying `record[name]` (an exception per cell on a model). The
answers depend on the column and the record's class only, so a page of 25 rows × 20 columns
asked the same questions 500 times — a third of a list page's rendering. Here each column is
planned once per table and record class; the cell values and their rendering are unchanged
(tests/crm/test_tables.py compares them with the library's own rows).
"""

import copy
import inspect
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partialmethod

import django_tables2 as tables
from django.db import models
from django.template.defaultfilters import date as date_filter
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django_tables2.columns import ManyToManyColumn
from django_tables2.columns.base import LinkTransform
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.data import TableData, TableQuerysetData
from django_tables2.rows import BoundRow, BoundRows
from django_tables2.utils import Accessor, AttributeDict, signature

# What django-tables2 offers a column's render method (BoundRow._optional_cell_arguments).
CELL_ARGUMENTS = frozenset({"value", "record", "column", "bound_column", "bound_row", "table"})


@dataclass(frozen=True)
class CellPlan:
    bits: tuple[str, ...]  # the accessor's path
    labels: dict | None  # a field with choices: its labels in the active language, as get_FOO_display() reads them
    render_args: tuple[str, ...] | None  # None: the render method takes **kwargs
    renderable: bool  # False: it wants an argument not on offer, and the cell is None (as the library)


def plan_cell(bound_column, record_class) -> CellPlan:
    accessor = Accessor(bound_column.accessor)
    field = accessor.get_field(record_class) if issubclass(record_class, models.Model) else None
    args, catch_all = render_arguments(bound_column.render)
    return CellPlan(
        bits=tuple(accessor.bits),
        labels=choice_labels(field),
        render_args=None if catch_all else tuple(args),
        renderable=catch_all or CELL_ARGUMENTS.issuperset(args),
    )


# What django-tables2's `signature` answered for each render function (bounded: a table built
# with a new function each time would otherwise grow it without end).
_ARGUMENTS: dict = {}
ARGUMENTS_REMEMBERED = 1024


def render_arguments(render) -> tuple[tuple[str, ...], str | None]:
    """django-tables2's `signature(render)`, read once per function: `inspect.signature` takes
    ~40 µs, and every table of every request asks it for each column. A method bound to another
    table of the same class has the same arguments, so the key is the function itself."""
    key = getattr(render, "__func__", render)
    try:
        return _ARGUMENTS[key]
    except KeyError:
        arguments = signature(render)
    if len(_ARGUMENTS) < ARGUMENTS_REMEMBERED:
        _ARGUMENTS[key] = arguments
    return arguments


def choice_labels(field) -> dict | None:
    """{value: label} of a field with choices whose model keeps Django's own get_FOO_display
    (which rebuilds this dict on every call), the labels translated now (a plan lasts one table,
    rendered in one language) rather than in every cell; None otherwise."""
    if not getattr(field, "choices", None) or not getattr(field, "model", None):
        return None
    display = inspect.getattr_static(field.model, f"get_{field.name}_display", None)
    if not isinstance(display, partialmethod):
        return None
    return {value: force_str(label, strings_only=True) for value, label in make_hashable(field.flatchoices)}


def resolve_on_model(record: models.Model, bits: tuple[str, ...]):
    """Accessor.resolve for a model instance: a model has no `[name]`, so its attributes are read
    directly (the library tries `record[name]` first and catches the error); calls what is
    callable unless it alters data; stops at None. Past the models, the library resolves."""
    current = record
    for index, bit in enumerate(bits):
        if not isinstance(current, models.Model):
            return Accessor("__".join(bits[index:])).resolve(current)
        current = getattr(current, bit)
        if callable(current) and not getattr(current, "do_not_call_in_templates", False):
            if getattr(current, "alters_data", False):
                raise ValueError(f"Refusing to call {current.__name__}() because `.alters_data = True`")
            current = current()
        if current is None:
            break
    return current


# Django date format characters written as zero-padded numbers, the same in every language.
_NUMERIC_DATE_PARTS = {
    "Y": "{0.year:04d}",
    "m": "{0.month:02d}",
    "d": "{0.day:02d}",
    "H": "{0.hour:02d}",
    "i": "{0.minute:02d}",
    "s": "{0.second:02d}",
}
_TIME_PARTS = frozenset("His")


def numeric_date_pattern(date_format: str) -> str | None:
    """A str.format pattern writing what Django's `date` filter writes for a format made of the
    numeric parts above and punctuation ("Y-m-d H:i" → "{0.year:04d}-{0.month:02d}-…"); None for
    any other format (a format name, a word such as "M" or "l", an escaped character)."""
    if not date_format or "\\" in date_format:
        return None
    if any(char.isalpha() and char not in _NUMERIC_DATE_PARTS for char in date_format):
        return None
    literal = {"{": "{{", "}": "}}"}
    return "".join(_NUMERIC_DATE_PARTS.get(char) or literal.get(char, char) for char in date_format)


class DateFilterRender:
    """Renders as django-tables2's date columns, whose template is `{{ value|date:"<format>"|default:default }}`,
    without that template: the library compiles it anew for every cell (about 200 µs each; 5 ms of
    the rep's 25-row customer list went to its one date column). The same `date` filter, applied
    to the value in the active time zone; the cell is escaped where the row is written. A format of
    numbers only ("Y-m-d H:i") is written by str.format (~2 µs, where the filter takes ~35 µs)."""

    formats: tuple[str, str]  # the library's default format names: (short, long)

    def __init__(self, format=None, short=True, **kwargs):
        super().__init__(format=format, short=short, **kwargs)
        self.format = format or self.formats[0 if short else 1]
        self.pattern = numeric_date_pattern(self.format)
        self.has_time = bool(_TIME_PARTS & set(self.format))

    def render(self, value, bound_column):
        value = template_localtime(value)
        if self.pattern is not None and isinstance(value, datetime if self.has_time else date):
            return self.pattern.format(value)
        return date_filter(value, self.format) or bound_column.default


class DateTimeColumn(DateFilterRender, tables.DateTimeColumn):
    formats = ("SHORT_DATETIME_FORMAT", "DATETIME_FORMAT")


class DateColumn(DateFilterRender, tables.DateColumn):
    formats = ("SHORT_DATE_FORMAT", "DATE_FORMAT")


def per_table(bound_column, kind: Hashable, build, *args):
    """`build(*args)` once per table and column, kept on the table (a new one per request): for what
    django-tables2 would otherwise work out for every cell although it does not depend on the row
    (the cell plan, td and link attributes, the checkbox around its value)."""
    return once_per_table(bound_column._table, (kind, bound_column.name), build, *args)


def once_per_table(table, key: Hashable, build, *args):
    """`build(*args)` once per table and key, kept on the table (a new one per request)."""
    built = table.__dict__.setdefault("_crm_per_table", {})
    try:
        return built[key]
    except KeyError:
        value = built[key] = build(*args)
        return value


class CheckBoxColumn(tables.CheckBoxColumn):
    """django-tables2's CheckBoxColumn, its <input> built once per table: only the value differs
    from row to row (the library rebuilds and escapes every attribute per cell, ~50 µs each).
    Attributes computed from the record, or a `checked` rule, still go the library's way."""

    _MARK = "\x00value\x00"

    def render(self, value, bound_column, record):
        around = per_table(bound_column, "checkbox", lambda: self._around_value(bound_column, record))
        if around is None:
            return super().render(value, bound_column, record)
        return mark_safe(f"{around[0]}{conditional_escape(value)}{around[1]}")  # noqa: S308 - value escaped

    def _around_value(self, bound_column, record) -> tuple[str, str] | None:
        """The library's <input> split where the value goes; None when it may differ per row."""
        specific = self.attrs.get("td__input") or self.attrs.get("input") or {}
        if self.checked is not None or any(callable(v) for v in specific.values()):
            return None
        parts = super().render(self._MARK, bound_column, record).split(self._MARK)
        return (parts[0], parts[1]) if len(parts) == 2 else None


def fixed_link_attrs(link) -> str | None:
    """The attributes a linked cell's <a> has before its href, as the library writes them, when
    they are the same for every row ("" for none); None when they may differ (computed from the
    record) or come from elsewhere than the library's LinkTransform. The library rebuilds and
    escapes them for every cell (~100 µs per linked cell); only the href differs per row."""
    attrs = link.attrs or {}
    if type(link) is not LinkTransform or "href" in attrs or any(callable(value) for value in attrs.values()):
        return None
    html = AttributeDict(attrs).as_html()
    return mark_safe(f"{html} ") if html else ""  # noqa: S308 - built by format_html_join


# A row's cells fall back to their column's default, read only for a cell that is empty.
COLUMN_DEFAULT = object()


def _fixed_attributes(attrs: dict) -> bool:
    """True when no attribute is computed from the record (a callable, or a dict of them)."""
    return not any(callable(value) or isinstance(value, dict) for value in attrs.values())


class PlannedRow(BoundRow):
    def attrs_html(self) -> str:
        """`self.attrs.as_html()`, built once per table and odd/even class when the table's row
        attributes are fixed (no callables, which compute a value from the record): only that class
        differs from row to row."""
        table = self.table
        if not once_per_table(table, "row_attrs_fixed", _fixed_attributes, table.row_attrs):
            return self.attrs.as_html()
        return once_per_table(table, ("row_attrs", self.get_even_odd_css_class()), lambda: self.attrs.as_html())

    def items(self):
        """As BoundRow.items, over the table's visible columns listed once per table (the library
        walks the column sequence for every row and looks each column up by name for every cell)."""
        record = self.record
        for bound_column in self.table.visible_columns():
            cell = self._get_and_render_with(bound_column, self._call_render, COLUMN_DEFAULT)
            bound_column.current_value = cell  # read by callable attrs, as the library sets them
            bound_column.current_record = record
            yield bound_column, cell

    def _get_and_render_with(self, bound_column, render_func, default):
        record = self.record
        if not isinstance(record, models.Model):
            default = bound_column.default if default is COLUMN_DEFAULT else default
            return super()._get_and_render_with(bound_column, render_func, default)
        plan = self.table.cell_plan(bound_column, type(record))
        column = bound_column.column
        try:
            owner = resolve_on_model(record, plan.bits[:-1]) if plan.labels is not None else None
            if isinstance(owner, models.Model):  # a field with choices shows its label
                value = getattr(owner, plan.bits[-1])
                value = force_str(plan.labels.get(make_hashable(value), value), strings_only=True)
            else:
                value = resolve_on_model(record, plan.bits)
        except Exception:
            # as the library: a column that is not a field (e.g. a link with fixed text)
            if isinstance(column, BaseLinkColumn) and column.text is not None:
                return render_func(bound_column)
            value = None
        if value in column.empty_values or (isinstance(column, ManyToManyColumn) and not value.exists()):
            return bound_column.default if default is COLUMN_DEFAULT else default
        return render_func(bound_column, value)

    def _call_render(self, bound_column, value=None):
        plan = self.table.cell_plan(bound_column, type(self.record))
        available = self._optional_cell_arguments(bound_column, value)
        if plan.render_args is None:
            content = bound_column.render(**available)
        elif plan.renderable:
            content = bound_column.render(**{name: available[name] for name in plan.render_args})
        else:
            content = None  # as call_with_appropriate: an argument it wants is not on offer
        if not bound_column.link:
            return content
        attrs_html = per_table(bound_column, "link_attrs", lambda: fixed_link_attrs(bound_column.link))
        if attrs_html is None:
            return bound_column.link(content, **available)
        href = bound_column.link.compose_url(**available)
        return content if href is None else format_html('<a {}href="{}">{}</a>', attrs_html, href, content)


def break_ties(queryset: models.QuerySet) -> models.QuerySet:
    """The queryset ordered as it is, then by primary key in the direction of its last key.

    Sorting a list by a column with equal values (tier, status, owner) leaves the order of those
    rows to the database, which may choose differently for every page: a row could appear on two
    pages and another on none. The primary key settles it; in the last key's direction, so that an
    index on that column still yields the rows in order (PostgreSQL sorts only within equal values).
    """
    ordering = queryset.query.order_by
    if not ordering:
        return queryset  # the model's default order: the view's to choose
    pk_names = {"pk", queryset.model._meta.pk.name, queryset.model._meta.pk.attname}
    if any(isinstance(key, str) and key.lstrip("-") in pk_names for key in ordering):
        return queryset
    last = ordering[-1]
    descending = last.startswith("-") if isinstance(last, str) else getattr(last, "descending", False)
    return queryset.order_by(*ordering, "-pk" if descending else "pk")


class PlannedRows(BoundRows):
    def __iter__(self):
        yield from self.generator_pinned_row(self.pinned_data.get("top"))
        for record in self.data:
            yield PlannedRow(record, table=self.table)
        yield from self.generator_pinned_row(self.pinned_data.get("bottom"))

    def __getitem__(self, key):
        if isinstance(key, slice):
            return PlannedRows(data=self.data[key], table=self.table, pinned_data=self.pinned_data)
        return PlannedRow(record=self.data[key], table=self.table)


class QuerysetData(TableQuerysetData):
    @property
    def ordering(self):
        """As the library's: the columns whose orders make up the queryset's order, if any.

        The library tries every way of splitting the queryset's order into the columns' orders
        (~1 ms for a 20-column table, on every list page). A key of that order that is in no
        column's order, such as the primary key that ends every list's order, leaves no way."""
        keys = self.data.query.order_by
        if all(isinstance(key, str) for key in keys):
            known = {part.lstrip("-") for column in self.table.columns for part in column.order_by}
            if any(key.lstrip("-") not in known for key in keys):
                return None
        return super().ordering


class ColumnsByName(dict):
    """A table class's columns (django-tables2's `base_columns`), which the library deep-copies for
    every table it makes, so that one table hiding or showing a column leaves the others alone.
    Deep is more than that needs (~0.5 ms for 20 columns: every attribute dict, lazy text and link
    setting): each table gets its own copy of each column object, whose `visible` is what hiding
    and showing change, and shares what the columns hold, which nothing changes."""

    def __deepcopy__(self, memo):
        return {name: copy.copy(column) for name, column in self.items()}


class Table(tables.Table):
    """django_tables2.Table whose rows reuse one plan per column (see the module's docstring)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.base_columns = ColumnsByName(cls.base_columns)

    def __init__(self, data=None, *args, **kwargs):
        if TableQuerysetData.validate(data) and not isinstance(data, TableData):
            data = QuerysetData(data)
        super().__init__(data, *args, **kwargs)
        self.rows = PlannedRows(data=self.data, table=self, pinned_data=self.pinned_data)
        self._visible_columns = None

    @property
    def order_by(self):
        return self._order_by

    @order_by.setter
    def order_by(self, value):
        """As the library's, then ends a queryset's order with its primary key (see break_ties)."""
        tables.Table.order_by.fset(self, value)
        if isinstance(self.data, TableQuerysetData):
            self.data.data = break_ties(self.data.data)

    def visible_columns(self) -> list:
        """The bound columns a row shows, in order; listed when the first row is written (after
        the view has hidden or shown columns)."""
        if self._visible_columns is None:
            self._visible_columns = list(self.columns.itervisible())
        return self._visible_columns

    def cell_plan(self, bound_column, record_class) -> CellPlan:
        return per_table(bound_column, record_class, plan_cell, bound_column, record_class)
