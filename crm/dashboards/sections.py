"""A dashboard's numbers as sections: one titled table each, shown beside its chart and exported
as one sheet each. Money columns are marked so they can be dropped for roles without amounts."""

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Column:
    label: str
    money: bool = False  # hidden from roles that may not see amounts
    percent: bool = False
    ratio: bool = False  # shown as "2.50×"

    @property
    def is_currency(self) -> bool:
        """Amounts are shown as CNY; shares and ratios of amounts are not."""
        return self.money and not (self.percent or self.ratio)


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    note: str = ""
    chart: dict | None = None  # the chart drawn beside the table (set by the view)

    @property
    def wide(self) -> bool:
        """Too many columns to sit beside a chart: chart above, table below."""
        return len(self.columns) > 5

    def without_money(self) -> "Section":
        keep = [i for i, c in enumerate(self.columns) if not c.money]
        return Section(
            key=self.key,
            title=self.title,
            columns=[self.columns[i] for i in keep],
            rows=[[row[i] for i in keep] for row in self.rows],
            note=self.note,
            chart=self.chart,
        )

    @property
    def has_money(self) -> bool:
        return any(c.money for c in self.columns)


def months_between(start: date, end: date) -> list[date]:
    """First days of every month from start's to end's, inclusive."""
    months, current = [], start.replace(day=1)
    while current <= end:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"
