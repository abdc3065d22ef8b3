"""Churn signals: where the health scan gets its facts without importing higher apps.

accounts never imports followups or receivables. Each app registers its signals in
`AppConfig.ready()`:

    from accounts import health
    health.register(health.Signal("payments", _("Payment delays"), compute=payment_signal))

`compute(now, policy)` returns, for all customers at once (one or a few queries, never one per
customer), a mapping `customer_id → (severity, detail)` or `(severity, detail, detail_with_amounts)`:
severity from 0 (no concern) to 1 (the signal's full weight is lost), detail a short translated
sentence saying why; a detail that names money comes in both forms, and only users who may see
amounts are shown the second. Customers without a concern are simply absent.

After a scan, high-risk hooks receive the retention cases it opened (the follow-ups app creates the
owners' retention tasks there); case hooks hear of each later step of a case (the follow-ups app
closes the contact task and opens the plan task, due 24 hours after the contact).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext

SignalResult = dict[int, tuple]


@dataclass(frozen=True)
class Signal:
    key: str
    label: str
    compute: Callable[..., SignalResult]


_signals: dict[str, Signal] = {}
_high_risk_hooks: list[Callable[..., None]] = []
_case_hooks: list[Callable[..., None]] = []


def register(signal: Signal) -> Signal:
    """Add or replace a signal by key (idempotent)."""
    _signals[signal.key] = signal
    return signal


def unregister(key: str) -> None:
    _signals.pop(key, None)


def signals() -> list[Signal]:
    return list(_signals.values())


def label_of(key: str) -> str:
    signal = _signals.get(key)
    return gettext(signal.label) if signal else key


def register_high_risk_hook(fn: Callable[..., None]) -> Callable[..., None]:
    """Call fn(cases, now) with the RetentionCase rows opened by a scan (idempotent registration)."""
    if fn not in _high_risk_hooks:
        _high_risk_hooks.append(fn)
    return fn


def high_risk_hooks() -> Iterable[Callable[..., None]]:
    return list(_high_risk_hooks)


def register_case_hook(fn: Callable[..., None]) -> Callable[..., None]:
    """Call fn(case, step, now) after a retention step: "contacted", "planned" or "closed"."""
    if fn not in _case_hooks:
        _case_hooks.append(fn)
    return fn


def case_hooks() -> Iterable[Callable[..., None]]:
    return list(_case_hooks)


def detail_for(entry: dict, *, show_amounts: bool) -> str:
    """The "why" of one stored signal entry ({"penalty", "detail"[, "detail_amounts"]}) for a viewer."""
    return (show_amounts and entry.get("detail_amounts")) or entry.get("detail", "")
