"""crm.tables plans each column once; every list page must look exactly as the library renders it."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import django_tables2 as tables
import pytest
from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import conditional_escape
from django.utils.timezone import template_localtime
from django.utils.translation import gettext_lazy as _
from django_tables2.data import TableQuerysetData
from django_tables2.rows import BoundRows
from django_tables2.utils import OrderByTuple

import crm.tables
from accounts.models import Customer
from accounts.tables import CustomerTable
from crm import demo
from crm.roles import Role
from crm.tables import PlannedRow, resolve_on_model
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    ("accounts:customer_list", ""),
    ("accounts:customer_list", "?sort=-industry"),
    ("accounts:customer_list", "?_export=csv"),
    ("accounts:incomplete", ""),
    ("accounts:churn_warnings", ""),
    ("accounts:tier_cell", "?tier=B"),
    ("leads:lead_list", ""),
    ("leads:pool", ""),
    ("leads:pipeline", ""),
    ("followups:task_list", ""),
    ("followups:complaint_list", ""),
    ("crm:audit_users", ""),
    ("dashboards:discipline", "?refresh=1"),
]
# tokens and nonces are fresh in every response
TOKENS = re.compile(rb'(csrfmiddlewaretoken" value=|csrf-token" content=|X-CSRFToken": |nonce=)"[^"]+"')


@pytest.fixture
def seeded(db):
    demo.seed(customers=40)


def test_every_list_page_renders_as_the_librarys_own_rows_would(seeded, client, monkeypatch):
    client.force_login(get_user_model().objects.get(username="admin"))
    planned = {}
    for name, query in PAGES:
        response = client.get(reverse(name) + query)
        assert response.status_code == 200, name
        assert response.content.count(b"<tr") > 2 or response.content.count(b"\n") > 2, f"{name}: no rows"
        planned[name, query] = TOKENS.sub(b"", response.content)
    monkeypatch.setattr(crm.tables, "PlannedRows", BoundRows)  # the library's rows, cell by cell
    for name, query in PAGES:
        library = TOKENS.sub(b"", client.get(reverse(name) + query).content)
        assert planned[name, query] == library, f"{name}{query} differs from the library's rendering"


CELL_BY_CELL = Template(  # what django_tables2/crm.html wrote before crm_tags.table_row
    "{% load l10n crm_tags %}<tr {{ row.attrs.as_html }}>\n{% for column, cell in row.items %}"
    "<td {% td_attrs column %}>{% if column.localize == None %}{{ cell }}{% else %}{% if column.localize %}"
    "{{ cell|localize }}{% else %}{{ cell|unlocalize }}{% endif %}{% endif %}</td>{% endfor %}\n</tr>"
)
ROW_TAG = Template("{% load crm_tags %}{% table_row row %}")


class Localized(crm.tables.Table):
    amount = tables.Column()
    localized = tables.Column(accessor="amount", localize=True)
    unlocalized = tables.Column(accessor="amount", localize=False)
    when = tables.Column()
    note = tables.Column()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_row_tag_writes_a_row_as_the_cell_by_cell_template_did(seeded, client, settings, language):
    client.force_login(get_user_model().objects.get(username="admin"))
    tables_seen = [client.get(reverse(name)).context["table"] for name, _query in PAGES[:9] if "?" not in _query]
    tables_seen.append(
        Localized([{"amount": Decimal("1234567.5"), "when": date(2026, 11, 24), "note": "<b>A & B</b>"}])
    )
    settings.USE_THOUSAND_SEPARATOR = True  # localize and unlocalize write 1,234,567.5 and 1234567.5
    rows = 0
    with translation.override(language):
        for table in tables_seen:
            for row in table.paginated_rows:
                context = Context({"row": row})
                tag, cell_by_cell = (TOKENS.sub(b"", t.render(context).encode()) for t in (ROW_TAG, CELL_BY_CELL))
                assert tag == cell_by_cell
                rows += 1
    assert rows > 20


def test_choice_fields_show_their_label_in_the_active_language(seeded, client):
    from accounts.tables import CustomerTable

    customer = Customer.objects.exclude(industry="").first()
    table = CustomerTable(Customer.objects.filter(pk=customer.pk))
    row = next(iter(table.rows))
    assert isinstance(row, PlannedRow)
    assert row.get_cell("industry") == customer.get_industry_display()
    assert row.get_cell_value("status") == customer.get_status_display()


def test_a_model_attribute_path_stops_at_none_and_refuses_methods_that_alter_data(seeded):
    customer = Customer.objects.filter(team__isnull=True).first() or Customer(name="x")
    customer.team = None
    assert resolve_on_model(customer, ("team", "name")) is None
    with pytest.raises(ValueError, match="alters_data"):
        resolve_on_model(customer, ("delete",))


class LibraryDates(tables.Table):
    at = tables.DateTimeColumn(format="Y-m-d H:i")
    at_short = tables.DateTimeColumn(accessor="at")
    at_long = tables.DateTimeColumn(accessor="at", short=False)
    day = tables.DateColumn(format="Y-m-d")
    day_short = tables.DateColumn(accessor="day")
    day_long = tables.DateColumn(accessor="day", short=False)
    note = tables.Column()


class PlannedDates(crm.tables.Table):
    at = crm.tables.DateTimeColumn(format="Y-m-d H:i")
    at_short = crm.tables.DateTimeColumn(accessor="at")
    at_long = crm.tables.DateTimeColumn(accessor="at", short=False)
    day = crm.tables.DateColumn(format="Y-m-d")
    day_short = crm.tables.DateColumn(accessor="day")
    day_long = crm.tables.DateColumn(accessor="day", short=False)
    note = tables.Column()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
def test_date_columns_render_as_the_librarys_template_did(language, zone):
    """crm.tables' date columns skip the library's per-cell template; the cell text, the time zone
    shift (23:30 UTC is the next day in Shanghai) and the empty default must stay the same."""
    records = [
        {"at": datetime(2026, 11, 23, 23, 30, tzinfo=UTC), "day": date(2026, 2, 3), "note": "x"},
        {"at": None, "day": None, "note": "y"},
    ]
    with translation.override(language), timezone.override(zone):
        rows = [
            [[cell for _column, cell in row.items()] for row in table_class(records, default="—").rows]
            for table_class in (LibraryDates, PlannedDates)
        ]
        library, planned = rows
        assert [[conditional_escape(c) for c in r] for r in planned] == library
        assert [type(c) for c in planned[1]][:6] == [str] * 6 and planned[1][0] == "—"
        shown = "2026-11-24 07:30" if zone == "Asia/Shanghai" else "2026-11-23 18:30"
        assert planned[0][0] == shown
    exported = [list(table_class(records).as_values()) for table_class in (LibraryDates, PlannedDates)]
    assert exported[0] == exported[1]


class PerRowAttrs(crm.tables.Table):
    note = tables.Column(attrs={"td": {"data-note": lambda value: value}})
    fixed = tables.Column(accessor="note", attrs={"td": {"class": "fixed"}})


def test_cell_attributes_computed_from_the_row_are_built_per_cell():
    table = PerRowAttrs([{"note": "a"}, {"note": "b"}])
    rows = [ROW_TAG.render(Context({"row": row})) for row in table.rows]
    assert 'data-note="a"' in rows[0] and 'data-note="b"' in rows[1]
    assert all('class="fixed"' in row for row in rows)


def _pks_in_order(client, url: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'href="/customers/(\d+)/"', client.get(url).content.decode())]


@pytest.mark.parametrize("sort", ["status", "-status", "tier", "-owner", "region"])
def test_a_list_sorted_by_a_column_with_equal_values_pages_through_every_row_once(db, client, sort):
    admin = UserFactory(username="pager", role=Role.ADMIN)
    owner = UserFactory(username="same_owner", role=Role.SALES_REP)
    made = [
        CustomerFactory(name=f"同值客户{i:02d}", owner=owner, status="active", province="", city="") for i in range(60)
    ]
    client.force_login(admin)
    seen = []
    for page in (1, 2, 3):
        seen += _pks_in_order(client, reverse("accounts:customer_list") + f"?sort={sort}&page={page}")
    assert sorted(seen) == sorted(c.pk for c in made)  # each row once: none twice, none left out
    # equal values: the primary key decides, in the sort's direction
    assert seen == sorted(seen, reverse=sort.startswith("-"))


@pytest.mark.parametrize(
    ("sort", "expected_end"),
    [("name", "pk"), ("-name", "-pk"), ("-created_at", "-pk"), ("owner", "pk"), ("-tier", "-pk")],
)
def test_a_sorted_table_orders_its_queryset_by_primary_key_last(db, sort, expected_end):
    table = CustomerTable(Customer.objects.order_by("-id"))
    table.order_by = sort
    ordering = [str(key) for key in table.data.data.query.order_by]
    assert ordering[-1] == expected_end
    assert len(ordering) >= 2  # the column's own keys come first


def test_an_order_already_ending_in_a_unique_key_is_left_alone(db):
    table = CustomerTable(Customer.objects.order_by("-id"))
    table.order_by = ()
    assert list(table.data.data.query.order_by) == ["-id"]
    assert crm.tables.break_ties(Customer.objects.order_by("name", "-id")).query.order_by == ("name", "-id")
    assert crm.tables.break_ties(Customer.objects.all()).query.order_by == ()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_checkbox_column_writes_the_librarys_input_for_every_row(db, language):
    attrs = {"td__input": {"class": "form-check-input", "name": "pks", "form": "bulk-form", "aria-label": _("Select")}}
    per_row = {"td__input": {"data-name": lambda record: record.name}}

    class Ours(crm.tables.Table):
        select = crm.tables.CheckBoxColumn(accessor="pk", attrs=attrs)
        computed = crm.tables.CheckBoxColumn(accessor="pk", attrs=per_row)
        ticked = crm.tables.CheckBoxColumn(accessor="pk", checked=lambda value, record: value % 2 == 0)

    class Library(tables.Table):
        select = tables.CheckBoxColumn(accessor="pk", attrs=attrs)
        computed = tables.CheckBoxColumn(accessor="pk", attrs=per_row)
        ticked = tables.CheckBoxColumn(accessor="pk", checked=lambda value, record: value % 2 == 0)

    customers = [CustomerFactory(name=name) for name in ('甲 "引号" <公司>', "乙公司", "丙公司")]
    with translation.override(language):
        ours = [[str(cell) for _column, cell in row.items()] for row in Ours(customers).rows]
        library = [[str(cell) for _column, cell in row.items()] for row in Library(customers).rows]
    assert ours == library
    assert ours[0][0] != ours[1][0]  # the value is each row's own
    assert ("选择" if language == "zh-hans" else "Select") in ours[0][0]


@pytest.mark.parametrize("date_format", ["Y-m-d H:i", "Y-m-d", "H:i:s", "d/m/Y", "Y.m.d {H}"])
@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 23, 23, 30, 5, tzinfo=UTC),
        datetime(987, 1, 2, 3, 4, 5, tzinfo=UTC),  # years below 1000 keep four digits
        datetime(2026, 2, 3, 4, 5),  # noqa: DTZ001 - naive: written as it is
    ],
)
def test_a_date_column_of_numbers_writes_what_the_date_filter_writes(date_format, value):
    assert crm.tables.numeric_date_pattern(date_format) is not None
    column = crm.tables.DateTimeColumn(format=date_format)
    with timezone.override("Asia/Shanghai"):
        assert column.render(value, bound_column=None) == date_filter(template_localtime(value), date_format)
    if "H" not in date_format and "i" not in date_format and "s" not in date_format:
        assert crm.tables.DateColumn(format=date_format).render(value.date(), None) == date_filter(
            value.date(), date_format
        )


@pytest.mark.parametrize("date_format", ["M d", "SHORT_DATE_FORMAT", r"Y \a", "Y年m月", "l", ""])
def test_other_date_formats_are_left_to_the_date_filter(date_format):
    assert crm.tables.numeric_date_pattern(date_format) is None


def test_a_date_column_with_a_time_format_refuses_a_date_as_the_filter_does():
    with pytest.raises(TypeError):
        crm.tables.DateColumn(format="Y-m-d H:i").render(date(2026, 1, 2), None)


class Linked:
    """A record with a page; `url` None means it has none (the library leaves the text unlinked)."""

    def __init__(self, name, url):
        self.name, self.url = name, url

    def get_absolute_url(self):
        return self.url


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_linked_cells_write_the_librarys_links(language):
    fixed = {"a": {"class": "link-underline", "title": _("Open")}}
    per_row = {"a": {"data-name": lambda record: record.name}}

    def columns(base):
        return {
            "plain": base.Column(accessor="name", linkify=True),
            "styled": base.Column(accessor="name", linkify=True, attrs=fixed),
            "computed": base.Column(accessor="name", linkify=True, attrs=per_row),
            "by_url": base.Column(accessor="name", linkify=lambda record: f"/x/?q={record.name}"),
        }

    ours = type("Ours", (crm.tables.Table,), columns(tables))
    library = type("Library", (tables.Table,), columns(tables))
    records = [Linked('甲 "引号" <公司>', "/customers/1/?a=1&b=2"), Linked("乙公司", "/c/2/"), Linked("丙", None)]
    with translation.override(language):
        planned = [[str(cell) for _column, cell in row.items()] for row in ours(records).rows]
        expected = [[str(cell) for _column, cell in row.items()] for row in library(records).rows]
    assert planned == expected
    assert planned[0][0] == '<a href="/customers/1/?a=1&amp;b=2">甲 &quot;引号&quot; &lt;公司&gt;</a>'
    assert ("待处理" if language == "zh-hans" else "Open") in planned[1][1]
    assert 'data-name="乙公司"' in planned[1][2] and 'data-name="甲' in planned[0][2]  # each row's own
    assert planned[2][:3] == ["丙"] * 3  # no page: no link


@pytest.mark.parametrize(
    ("ordering", "shown"),
    [
        (("name",), ("name",)),
        (("-name",), ("-name",)),
        (("owner__username",), ("owner",)),
        (("-province", "-city", "name"), ("-region", "name")),
        (("name", "-id"), None),  # the key is no column's: no column shows as sorted
    ],
)
def test_a_tables_order_read_from_its_queryset_is_the_librarys(db, ordering, shown):
    """crm.tables.QuerysetData skips the library's search when a key is in no column's order."""
    queryset = Customer.objects.order_by(*ordering)
    ours, library = CustomerTable(queryset), CustomerTable(TableQuerysetData(queryset))
    assert isinstance(ours.data, crm.tables.QuerysetData) and not isinstance(library.data, crm.tables.QuerysetData)
    assert ours.order_by == library.order_by == (None if shown is None else OrderByTuple(shown))


def test_hiding_a_column_in_one_table_leaves_other_tables_of_its_class_alone(db):
    """Each table copies its class's columns (crm.tables.ColumnsByName): shallow, yet enough."""
    first, second = CustomerTable([]), CustomerTable([])
    first.columns.hide("industry")
    second.columns.show("tags")
    assert not first.columns["industry"].visible and second.columns["industry"].visible
    assert CustomerTable([]).columns["industry"].visible and CustomerTable.base_columns["industry"].visible
    assert first.columns["industry"].column is not second.columns["industry"].column
    assert type(CustomerTable.base_columns) is crm.tables.ColumnsByName


def test_render_methods_get_the_arguments_they_name_as_the_librarys_rows_give_them(db):
    """A render method is called with the arguments it names; one naming an argument that is not on
    offer leaves the cell empty; an empty value shows the column's default. As the library."""

    def columns(base):
        class Columns(base):
            name = tables.Column()
            both = tables.Column(accessor="name")
            odd = tables.Column(accessor="name")
            blank = tables.Column(accessor="website", default="无")

            def render_both(self, value, record, bound_column):
                return f"{value}/{record.pk}/{bound_column.name}"

            def render_odd(self, value, unknown):
                return "never"

        return Columns

    customers = [CustomerFactory(name="甲公司", website=""), CustomerFactory(name="乙公司", website="")]
    ours, library = columns(crm.tables.Table)(customers), columns(tables.Table)(customers)
    planned = [[cell for _column, cell in row.items()] for row in ours.rows]
    assert planned == [[cell for _column, cell in row.items()] for row in library.rows]
    assert planned[0] == ["甲公司", f"甲公司/{customers[0].pk}/both", None, "无"]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_choice_labels_are_translated_once_per_table_in_the_language_it_is_rendered_in(seeded, language):
    customer = Customer.objects.exclude(industry="").first()
    with translation.override(language):
        table = CustomerTable(Customer.objects.filter(pk=customer.pk))
        row = next(iter(table.rows))
        assert row.get_cell("industry") == customer.get_industry_display()
        plan = table.cell_plan(table.columns["industry"], Customer)
    assert plan.labels and all(type(label) is str for label in plan.labels.values())  # not lazy text
    with translation.override("en" if language == "zh-hans" else "zh-hans"):
        other = CustomerTable(Customer.objects.filter(pk=customer.pk))
        assert next(iter(other.rows)).get_cell("industry") == customer.get_industry_display()
        assert other.cell_plan(other.columns["industry"], Customer).labels != plan.labels


def test_render_arguments_are_read_once_per_function_whatever_table_the_method_is_bound_to(db, monkeypatch):
    calls = []
    original = crm.tables.signature
    monkeypatch.setattr(crm.tables, "_ARGUMENTS", {})
    monkeypatch.setattr(crm.tables, "signature", lambda fn: calls.append(fn) or original(fn))
    first, second = CustomerTable([]), CustomerTable([])
    assert crm.tables.render_arguments(first.render_stage) == (("value", "record"), None)  # no `self`
    assert crm.tables.render_arguments(second.render_stage) == (("value", "record"), None)
    assert crm.tables.render_arguments(first.render_tags) == (("value",), None)
    assert len(calls) == 2  # render_stage once for both tables, render_tags once


def test_render_arguments_remember_a_bounded_number_of_functions(monkeypatch):
    monkeypatch.setattr(crm.tables, "_ARGUMENTS", {})
    monkeypatch.setattr(crm.tables, "ARGUMENTS_REMEMBERED", 2)
    functions = [eval(f"lambda value, a{i}: None") for i in range(4)]  # noqa: S307 - four distinct functions
    assert [crm.tables.render_arguments(f) for f in functions] == [(("value", f"a{i}"), None) for i in range(4)]
    assert list(crm.tables._ARGUMENTS) == functions[:2]


class RowAttrsByRecord(crm.tables.Table):
    note = tables.Column()

    class Meta:
        row_attrs = {"data-note": lambda record: record["note"]}


def test_fixed_row_attributes_are_built_once_per_parity_and_computed_ones_per_row():
    records = [{"note": n} for n in "abcd"]
    fixed = crm.tables.Table(records, extra_columns=[("note", tables.Column())])
    written = [row.attrs_html() for row in fixed.rows]
    assert written == [row.attrs.as_html() for row in fixed.rows] == ['class="even"', 'class="odd"'] * 2
    assert written[0] is written[2] and written[1] is written[3]  # the first of each parity, reused
    computed = [row.attrs_html() for row in RowAttrsByRecord(records).rows]
    assert computed == [f'data-note="{n}" class="{p}"' for n, p in zip("abcd", ["even", "odd"] * 2, strict=True)]
