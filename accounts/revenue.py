"""Revenue providers: where tiering gets each customer's deals without importing higher apps.

accounts never imports leads or receivables. They register a source in `AppConfig.ready()`:

    from accounts import revenue
    revenue.register(revenue.RevenueSource("leads", deals=won_deals, first_dates=first_won_dates))

- `deals(since)` yields `(customer_id, amount, at, product_line)` for every deal at or after `since`
  (won opportunities today; contracts once receivables registers them);
- `first_dates()` yields `(customer_id, first_deal_at)` over all history (relationship length).

Each callable should be one query streamed with `.values_list(...).iterator()`.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RevenueSource:
    name: str
    deals: Callable[[datetime], Iterable[tuple]]
    first_dates: Callable[[], Iterable[tuple]] | None = None


_sources: dict[str, RevenueSource] = {}


def register(source: RevenueSource) -> RevenueSource:
    """Add or replace a source by name (idempotent)."""
    _sources[source.name] = source
    return source


def unregister(name: str) -> None:
    _sources.pop(name, None)


def sources() -> list[RevenueSource]:
    return list(_sources.values())
