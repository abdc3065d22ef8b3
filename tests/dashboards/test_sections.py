"""A dashboard section's table body (crm_tags.section_rows) reads as the template loop it replaced."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from crm.dashboards.sections import Column, Section

# partials/section.html before the rows were written in Python, cell by cell
TEMPLATE_LOOP = Template(
    "{% load crm_tags %}"
    '{% for row in cells %}<tr>{% for cell in row %}{% if forloop.first %}<th scope="row" class="fw-normal">'
    '{{ cell.value|default_if_none:"—" }}</th>{% else %}<td class="text-end">{% if cell.value is None %}—'
    "{% elif cell.percent %}{{ cell.value }}%{% elif cell.ratio %}{{ cell.value }}×{% elif cell.currency %}"
    "{{ cell.value|cny }}{% else %}{{ cell.value }}{% endif %}</td>{% endif %}{% endfor %}</tr>{% endfor %}"
)
SECTION = Section(
    "mixed",
    "Mixed",
    [
        Column("rep"),
        Column("count"),
        Column("amount", money=True),
        Column("share", money=True, percent=True),
        Column("ratio", money=True, ratio=True),
        Column("rate", percent=True),
        Column("average"),
    ],
    rows=[
        ["王小明", 12, Decimal("1234567.5"), Decimal("12.5"), Decimal("2.50"), 40.0, 3.25],
        ['<b>"A&B"</b>', None, None, None, None, None, None],
        [None, 0, Decimal("-20"), 0, 0, Decimal("0.0"), "n/a"],
        ["Total", 1500000, "not a number", 99.9, 1.0, 100, Decimal("1234.5678")],
    ],
)


def loop_cells(section: Section) -> list[list[dict]]:
    return [
        [
            {"value": value, "currency": col.is_currency, "percent": col.percent, "ratio": col.ratio}
            for value, col in zip(row, section.columns, strict=True)
        ]
        for row in section.rows
    ]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("section", [SECTION, SECTION.without_money()], ids=["amounts", "without-amounts"])
def test_section_rows_match_the_template_loop(language, section):
    with translation.override(language):
        expected = TEMPLATE_LOOP.render(Context({"cells": loop_cells(section)}))
        written = Template("{% load crm_tags %}{% section_rows section %}").render(Context({"section": section}))
    assert written == expected
    assert written.count("<tr>") == 4
    assert "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;" in written  # escaped, as the template escaped it


def test_section_rows_mark_each_kind_of_value():
    with translation.override("en"):
        written = Template("{% load crm_tags %}{% section_rows section %}").render(Context({"section": SECTION}))
    first = written.split("</tr>")[0]
    assert '<th scope="row" class="fw-normal">王小明</th>' in first
    assert '<td class="text-end">¥1,234,567.50</td>' in first  # money as CNY
    assert '<td class="text-end">12.5%</td>' in first  # a share of money is a percentage, not CNY
    assert '<td class="text-end">2.50×</td>' in first
    assert '<td class="text-end">—</td>' in written.split("</tr>")[1]  # no value: a dash, no unit
    assert '<th scope="row" class="fw-normal">—</th>' in written.split("</tr>")[2]
