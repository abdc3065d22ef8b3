from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.templatetags import l10n
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from crm.rendering import value_html
from crm.tables import PlannedRow, per_table
from crm.urlcache import object_url as _object_url

register = template.Library()


@register.filter
def cny(value, places: int = 2):
    """Money in CNY: ¥1,234,567.00 (thousands separators, fixed decimals); empty stays empty."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return value
    sign = "-" if amount < 0 else ""
    return f"{sign}{settings.CRM_CURRENCY_SYMBOL}{abs(amount):,.{int(places)}f}"


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# The main navigation as written, by (entries with their URLs, active entry, language).
_MAIN_NAV: dict[tuple, str] = {}


@register.simple_tag(takes_context=True)
def main_nav(context):
    """The main navigation bar (partials/main_nav.html) of every signed-in page.

    What it shows follows from the entries (crm.context_processors.navigation: by role, with fixed
    URLs), the active entry and the language only, so each combination is written once per
    process and reused (the loops and lookups were ~0.4 ms of every page). With DEBUG on, it is
    written every time, so that an edited template shows at once."""
    items = context.get("nav_items") or []
    active = context.get("active_nav")
    key = (tuple((item["key"], item["url"]) for item in items), active, get_language())
    html = _MAIN_NAV.get(key)
    if html is None or settings.DEBUG:
        html = render_to_string("partials/main_nav.html", {"nav_items": items, "active_nav": active}).strip()
        if len(_MAIN_NAV) >= 1000:  # bounded: the combinations are few, but never let it grow
            _MAIN_NAV.clear()
        _MAIN_NAV[key] = html
    return mark_safe(html)  # noqa: S308 - rendered by the template engine, escaped there


@register.filter
def object_url(pk, viewname: str) -> str:
    """`{{ task.customer_id|object_url:"followups:log" }}`: what `{% url "followups:log" task.customer_id %}`
    writes, for a URL whose one argument is a record's key, without a reverse() per row
    (crm.urlcache.object_url): a list of 40 items with two links each spent ~1 ms on them."""
    return _object_url(viewname, pk)


@register.filter
def person(user):
    """A user's display name: Chinese names surname first (王小明), others "First Last"."""
    if user is None:
        return ""
    first, last = (getattr(user, "first_name", "") or "").strip(), (getattr(user, "last_name", "") or "").strip()
    if first and last:
        return f"{last}{first}" if _has_cjk(first + last) else f"{first} {last}"
    return first or last or user.get_username()


@register.simple_tag
def td_attrs(column):
    """`column.attrs.td.as_html` of a django-tables2 bound column, built once per column and table.

    django-tables2 rebuilds every attribute dictionary of a column for every cell (a quarter of a
    25-row list page's time). The cell attributes of our columns do not depend on the row, so the
    first cell's are reused; a column whose td attributes are callables (computed from the record)
    is still built per cell."""
    html = per_table(column, "td_attrs", lambda: _static_td_attrs(column))
    return column.attrs["td"].as_html() if html is None else html


def _static_td_attrs(column) -> str | None:
    """The column's td attributes as HTML, or None when they are computed per cell."""
    spec = {**dict(column._table.attrs), **dict(column.column.attrs)}
    td = spec.get("td", spec.get("cell", {}))
    return None if any(callable(value) for value in td.values()) else column.attrs["td"].as_html()


@register.simple_tag(takes_context=True)
def table_row(context, row):
    """One table row, as the template of django_tables2/crm.html wrote it cell by cell:

        <tr {{ row.attrs.as_html }}>
        {% for column, cell in row.items %}<td {% td_attrs column %}>{{ cell }}</td>{% endfor %}
        </tr>

    where a column with `localize` set passes its cell through the `localize` or `unlocalize`
    filter. Python instead of template nodes: a 25-row page has 300 cells, and the template
    engine's per-cell work (variable lookups, nested ifs, a tag call) was a third of the page."""
    cells = []
    for column, cell in row.items():
        if column.localize is not None:
            cell = l10n.localize(cell) if column.localize else l10n.unlocalize(cell)
        cells.append(f"<td {td_attrs(column)}>{value_html(cell, context)}</td>")
    attrs = row.attrs_html() if isinstance(row, PlannedRow) else row.attrs.as_html()
    return mark_safe(f"<tr {attrs}>\n{''.join(cells)}\n</tr>")  # noqa: S308 - escaped above


@register.simple_tag(takes_context=True)
def section_rows(context, section):
    """The body rows of a dashboard section's table (crm.dashboards.sections.Section), as
    partials/section.html wrote them cell by cell:

        {% for row in rows %}<tr>{% for value, column in row %}{% if forloop.first %}
          <th scope="row" class="fw-normal">{{ value|default_if_none:"—" }}</th>
        {% else %}<td class="text-end">{% if value is None %}—{% elif column.percent %}{{ value }}%
          {% elif column.ratio %}{{ value }}×{% elif column.is_currency %}{{ value|cny }}
          {% else %}{{ value }}{% endif %}</td>{% endif %}{% endfor %}</tr>{% endfor %}

    Python instead of template nodes: the sales dashboard has ~400 cells, and the engine's
    per-cell work (a loop, five nested ifs, a lookup per test) was half of that page's time."""
    columns = section.columns[1:]
    suffixes = ["%" if c.percent else "×" if c.ratio else "" for c in columns]
    rows = []
    for row in section.rows:
        head = "—" if row[0] is None else value_html(row[0], context)
        cells = [f'<th scope="row" class="fw-normal">{head}</th>']
        for value, column, suffix in zip(row[1:], columns, suffixes, strict=True):
            if column.is_currency and value is not None:
                value = cny(value)
            shown = "—" if value is None else value_html(value, context)
            cells.append(f'<td class="text-end">{shown}{"" if value is None else suffix}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return mark_safe("".join(rows))  # noqa: S308 - every value escaped by value_html


@register.filter
def capped(count: int, cap: int) -> str:
    """A count that was only counted up to `cap` (one more means "more than that"): 1000 → "1000+"."""
    return f"{cap}+" if count > cap else str(count)
