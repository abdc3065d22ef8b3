"""Customer tiering (客户分级, DOMAIN §3): score every customer at once, preview, apply, override.

Set-based: one query per input (customers with their tiering inputs, each revenue source, the
current assessments), pandas over columns, bulk writes in chunks. Never one query per customer.

Value score (100 points by default): annual amount 30, margin 30, renewal rate 40. Each input
earns its full weight at the A threshold and half of it at the B threshold, nothing below.
Bands turn the score into A / B / C; a one-off project (a single deal in two years) is C.
Potential: points for the industry outlook (+2 growing, −2 shrinking), expansion (+1), stated
needs or plans (+1) and the budget level (+1 top, −2 cuts), against the policy's thresholds.
Relationship: years since the cooperation start (or the first deal), product lines, referrals.
RFM: recency, frequency and monetary quintiles (1–5) among the customers that bought.

Idempotent: only rows whose result differs are written, and a TierChange row is written only
when the combined label (tier, potential, relationship) really changes. Manual overrides hold
until the next review (the first day of the next quarter) and are cleared by the first re-tier
after that.
"""

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.access import has_role, is_admin
from crm.roles import Role

from ..models import (
    AmountMode,
    BudgetLevel,
    Customer,
    MaintenanceStrategy,
    Outlook,
    Potential,
    Relationship,
    ResponsibleRole,
    TierAssessment,
    TierChange,
    TierPolicy,
    TierRun,
    ValueTier,
)
from ..selectors_revenue import revenue_inputs

CHUNK = 2000
SAMPLE = 20
OUTLOOK_POINTS = {Outlook.GROWING: 2, Outlook.STABLE: 0, Outlook.SHRINKING: -2}
EXPANDING_POINTS, NEEDS_POINTS = 1, 1
BUDGET_POINTS = {BudgetLevel.TOP: 1, BudgetLevel.NORMAL: 0, BudgetLevel.CUT: -2}
ASSESSMENT_FIELDS = [
    "tier",
    "computed_tier",
    "potential",
    "relationship",
    "score",
    "annual_amount",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "breakdown",
    "policy_version",
    "override_tier",
    "override_reason",
    "override_by",
    "override_expires_at",
]


class TieringError(Exception):
    """A tiering action that cannot be done (the view shows the message)."""


def can_manage_tiers(user) -> bool:
    return is_admin(user) or has_role(user, Role.MANAGER)


def next_review(now: datetime | None = None) -> datetime:
    """The next quarterly review: midnight of the first day of the next quarter (local time)."""
    today = timezone.localdate(now or timezone.now())
    month = ((today.month - 1) // 3 + 1) * 3 + 1
    year = today.year + (month > 12)
    month = month - 12 if month > 12 else month
    return timezone.make_aware(datetime.combine(today.replace(year=year, month=month, day=1), time.min))


def quarter_start(now: datetime | None = None) -> datetime:
    today = timezone.localdate(now or timezone.now())
    first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    return timezone.make_aware(datetime.combine(first, time.min))


# --- policy and strategies ------------------------------------------------------------------


def current_policy() -> TierPolicy:
    """The newest policy version; version 1 with the defaults of DOMAIN §3 when there is none."""
    policy = TierPolicy.objects.order_by("-version").first()
    if policy is None:
        policy, _created = TierPolicy.objects.get_or_create(version=1, defaults={"note": "default"})
    return policy


@transaction.atomic
def save_policy(*, policy: TierPolicy, by) -> TierPolicy:
    """Save the edited rules as the next version; older versions stay as they were (results move
    only when a re-tier runs)."""
    if not can_manage_tiers(by):
        raise PermissionDenied
    if policy.weight_amount + policy.weight_margin + policy.weight_renewal != 100:
        raise TieringError(_("The three weights must add up to 100."))
    if policy.band_b > policy.band_a:
        raise TieringError(_("The B band cannot start above the A band."))
    latest = TierPolicy.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0
    policy.pk = None
    policy.version = latest + 1
    policy.created_by = by
    policy.save()
    return policy


# The three default strategies of DOMAIN §3 (source English; translated when created).
DEFAULT_STRATEGIES = [
    (
        (ValueTier.A, Potential.HIGH, Relationship.STRATEGIC),
        gettext_noop("Deepen the partnership and grow share of wallet"),
        gettext_noop(
            "Dedicated account manager; monthly on-site visit; quarterly executive visit; custom service plan; "
            "invitations to betas and summits."
        ),
        ResponsibleRole.OWNER,
        [
            (gettext_noop("Monthly on-site visit"), 30, ResponsibleRole.OWNER),
            (gettext_noop("Quarterly executive visit"), 90, ResponsibleRole.MANAGER),
        ],
    ),
    (
        (ValueTier.B, Potential.MEDIUM, Relationship.LONG_TERM),
        gettext_noop("Keep the relationship warm and find upgrade opportunities"),
        gettext_noop("Monthly call; quarterly industry report or product news; half-yearly satisfaction survey."),
        ResponsibleRole.OWNER,
        [
            (gettext_noop("Monthly call"), 30, ResponsibleRole.OWNER),
            (gettext_noop("Send the quarterly industry report / product news"), 90, ResponsibleRole.OWNER),
            (gettext_noop("Half-yearly satisfaction survey"), 182, ResponsibleRole.OWNER),
        ],
    ),
    (
        (ValueTier.C, Potential.LOW, ""),
        gettext_noop("Serve efficiently at low cost"),
        gettext_noop("Monthly standard email or SMS; touch on promotions; no intent for 6 months → dormant pool."),
        ResponsibleRole.OWNER,
        [(gettext_noop("Monthly standard email / SMS"), 30, ResponsibleRole.OWNER)],
    ),
]


def ensure_default_strategies() -> int:
    """Create the default strategies that are missing (idempotent; edited ones stay)."""
    created = 0
    with translation.override(settings.LANGUAGE_CODE):
        for (tier, potential, relationship), goal, actions, responsible, cadences in DEFAULT_STRATEGIES:
            _obj, was_created = MaintenanceStrategy.objects.get_or_create(
                tier=tier,
                potential=potential,
                relationship=relationship,
                defaults={
                    "goal": _(goal),
                    "actions": _(actions),
                    "responsible": responsible,
                    "cadences": [{"action": _(a), "every_days": d, "responsible": r} for a, d, r in cadences],
                },
            )
            created += was_created
    return created


@transaction.atomic
def save_strategy(*, strategy: MaintenanceStrategy, by) -> MaintenanceStrategy:
    if not can_manage_tiers(by):
        raise PermissionDenied
    strategy.updated_by = by
    strategy._history_user = by
    strategy.save()
    return strategy


def strategy_for(tier: str, potential: str, relationship: str, strategies) -> MaintenanceStrategy | None:
    """The most specific active strategy matching a combination (blank fields match anything)."""
    best, best_rank = None, -1
    for s in strategies:
        if not s.active or s.tier != tier:
            continue
        if (s.potential and s.potential != potential) or (s.relationship and s.relationship != relationship):
            continue
        rank = bool(s.potential) * 2 + bool(s.relationship)
        if rank > best_rank:
            best, best_rank = s, rank
    return best


# --- scoring ----------------------------------------------------------------------------------


def load_inputs(now: datetime) -> pd.DataFrame:
    """Every customer (not merged away) with its archive and revenue inputs: one query each."""
    columns = [
        "id",
        "industry",
        "needs",
        "development_plans",
        "tier_inputs__expanding",
        "tier_inputs__budget_level",
        "tier_inputs__margin_rate",
        "tier_inputs__cooperation_since",
        "tier_inputs__referrals",
    ]
    rows = Customer.objects.filter(merged_into__isnull=True).order_by().values_list(*columns).iterator(chunk_size=20000)
    frame = pd.DataFrame.from_records(
        list(rows),
        columns=[
            "customer_id",
            "industry",
            "needs",
            "plans",
            "expanding",
            "budget_level",
            "margin",
            "since",
            "referrals",
        ],
    ).set_index("customer_id")
    revenue = revenue_inputs(now)
    return frame.join(revenue, how="left")


def _points(hit_a, hit_b, weight) -> pd.Series:
    return pd.Series(np.where(hit_a, weight, np.where(hit_b, weight / 2.0, 0.0)), index=hit_a.index)


def _quintile(values: pd.Series, *, ascending: bool = True) -> pd.Series:
    """1–5 by percentile rank; ties share the higher score."""
    if values.empty:
        return values.astype(int)
    pct = values.rank(method="max", pct=True, ascending=ascending)
    return np.ceil(pct * 5 - 1e-9).clip(1, 5).astype(int)


def _iso(series: pd.Series) -> pd.Series:
    return series.map(lambda v: None if pd.isna(v) else pd.Timestamp(v).date().isoformat())


def _rounded(series: pd.Series) -> pd.Series:
    return series.map(lambda v: None if pd.isna(v) else round(float(v), 2))


def score(frame: pd.DataFrame, policy: TierPolicy, now: datetime) -> pd.DataFrame:
    """The assessment of every row of `frame` (see load_inputs) under `policy`, as columns."""
    f = frame.copy()
    f["industry"] = f["industry"].fillna("")
    amount = pd.to_numeric(f.get("amount_12m"), errors="coerce").fillna(0.0).astype(float)
    margin = pd.to_numeric(f["margin"], errors="coerce").astype(float)
    renewal = pd.to_numeric(f.get("renewal_rate"), errors="coerce").astype(float)
    deals_12m = pd.to_numeric(f.get("deals_12m"), errors="coerce").fillna(0).astype(int)
    deals_24m = pd.to_numeric(f.get("deals_24m"), errors="coerce").fillna(0).astype(int)
    product_lines = pd.to_numeric(f.get("product_lines"), errors="coerce").fillna(0).astype(int)
    referrals = pd.to_numeric(f["referrals"], errors="coerce").fillna(0).astype(int)

    # value: amount (absolute, or relative to the industry average of the customers that bought)
    buying = amount.where(amount > 0)
    industry_avg = buying.groupby(f["industry"]).transform("mean").fillna(0.0)
    a_abs, b_abs = float(policy.amount_a_absolute), float(policy.amount_b_absolute)
    if policy.amount_mode == AmountMode.ABSOLUTE:
        amount_a = (amount > 0) & (amount >= a_abs)
        amount_b = (amount > 0) & (amount >= b_abs)
    else:
        amount_a = ((industry_avg > 0) & (amount >= industry_avg * policy.amount_a_ratio / 100.0)) | (
            (amount > 0) & (amount >= a_abs)
        )
        amount_b = (amount > 0) & (amount >= industry_avg * policy.amount_b_ratio / 100.0)
    amount_pts = _points(amount_a, amount_b, policy.weight_amount)
    margin_pts = _points(margin >= float(policy.margin_a), margin >= float(policy.margin_b), policy.weight_margin)
    renewal_pts = _points(renewal >= float(policy.renewal_a), renewal >= float(policy.renewal_b), policy.weight_renewal)
    total = (amount_pts + margin_pts + renewal_pts).round().astype(int)
    one_off = deals_24m <= 1
    tier = pd.Series(
        np.where(total >= policy.band_a, ValueTier.A, np.where(total >= policy.band_b, ValueTier.B, ValueTier.C)),
        index=f.index,
    )
    if policy.one_off_is_c:
        tier = tier.where(~one_off, ValueTier.C)

    # potential
    outlook_map = dict(policy.industry_outlook or {})
    outlook = f["industry"].map(outlook_map).fillna(Outlook.STABLE)
    expanding = f["expanding"].fillna(False).astype(bool)
    has_needs = (f["needs"].fillna("").str.strip() != "") | (f["plans"].fillna("").str.strip() != "")
    budget = f["budget_level"].fillna("")
    potential_pts = (
        outlook.map(OUTLOOK_POINTS).fillna(0).astype(int)
        + expanding.astype(int) * EXPANDING_POINTS
        + has_needs.astype(int) * NEEDS_POINTS
        + budget.map(BUDGET_POINTS).fillna(0).astype(int)
    )
    potential = pd.Series(
        np.where(
            potential_pts >= policy.potential_high,
            Potential.HIGH,
            np.where(potential_pts <= policy.potential_low, Potential.LOW, Potential.MEDIUM),
        ),
        index=f.index,
    )

    # relationship
    since = pd.to_datetime(f["since"], errors="coerce")
    since = since.dt.tz_localize(timezone.get_current_timezone()) if len(since) else since
    first_deal = pd.to_datetime(f.get("first_deal_at"), utc=True, errors="coerce")
    start = since.dt.tz_convert("UTC").fillna(first_deal) if len(since) else first_deal
    days = (pd.Timestamp(now) - start).dt.days
    years = days / 365.25
    relationship = pd.Series(
        np.select(
            [
                start.isna() | (days < policy.new_months * 30.44),
                (years >= policy.strategic_years)
                & (product_lines >= policy.strategic_product_lines)
                & (referrals >= policy.strategic_referrals),
                years >= policy.long_term_years,
            ],
            [Relationship.NEW, Relationship.STRATEGIC, Relationship.LONG_TERM],
            default=Relationship.DEVELOPING,
        ),
        index=f.index,
    )

    # RFM among the customers that bought in the last two years
    last_deal = pd.to_datetime(f.get("last_deal_at"), utc=True, errors="coerce")
    bought = last_deal.notna()
    rfm_r = pd.Series(1, index=f.index)
    rfm_f = pd.Series(1, index=f.index)
    rfm_m = pd.Series(1, index=f.index)
    rfm_r[bought] = _quintile(last_deal[bought].astype("int64"))
    rfm_f[bought] = _quintile(deals_12m[bought])
    rfm_m[bought] = _quintile(amount[bought])

    breakdown = pd.DataFrame(
        {
            "amount": amount.round(2),
            "industry_avg": industry_avg.round(2),
            "amount_mode": policy.amount_mode,
            "amount_pts": amount_pts,
            "margin": _rounded(margin),
            "margin_pts": margin_pts,
            "renewal": _rounded(renewal),
            "renewal_pts": renewal_pts,
            "score": total,
            "one_off": one_off,
            "deals_24m": deals_24m,
            "outlook": outlook,
            "expanding": expanding,
            "needs": has_needs,
            "budget_level": budget,
            "potential_pts": potential_pts,
            "since": _iso(start),
            "product_lines": product_lines,
            "referrals": referrals,
            "last_deal": _iso(last_deal),
            "deals_12m": deals_12m,
        },
        index=f.index,
    )
    records = breakdown.astype(object).where(breakdown.notna(), None).to_dict("index")
    out = pd.DataFrame(
        {
            "computed_tier": tier,
            "potential": potential,
            "relationship": relationship,
            "score": total,
            "annual_amount": amount.round(2),
            "rfm_r": rfm_r.astype(int),
            "rfm_f": rfm_f.astype(int),
            "rfm_m": rfm_m.astype(int),
        },
        index=f.index,
    )
    out["breakdown"] = pd.Series([_jsonable(records[i]) for i in out.index], index=out.index, dtype=object)
    out["policy_version"] = policy.version
    return out


def _jsonable(record: dict) -> dict:
    """Plain Python values (what a JSONField returns after a round-trip), so comparisons are exact."""
    clean = {}
    for key, value in record.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float):
            value = None if math.isnan(value) else round(value, 2)
            if value is not None and value == int(value) and key.endswith("_pts"):
                value = int(value) if value.is_integer() else value
        clean[key] = str(value) if hasattr(value, "label") else value
    return clean


# --- preview and apply ----------------------------------------------------------------------


@dataclass
class RetierPlan:
    now: datetime
    policy: TierPolicy
    total: int = 0
    moves: dict = field(default_factory=dict)  # "B → A": count (effective tier changes, incl. "— → A")
    changes: int = 0  # customers whose combined label changes (= history rows on apply)
    sample: list = field(default_factory=list)
    frame: pd.DataFrame | None = None


def _existing() -> pd.DataFrame:
    rows = (
        TierAssessment.objects.order_by()
        .values_list("customer_id", *["override_by_id" if f == "override_by" else f for f in ASSESSMENT_FIELDS])
        .iterator(chunk_size=20000)
    )
    columns = ["customer_id", *["old_" + f for f in ASSESSMENT_FIELDS]]
    return pd.DataFrame.from_records(list(rows), columns=columns).set_index("customer_id")


def _key(tier, potential, relationship) -> pd.Series:
    return tier.fillna("") + "|" + potential.fillna("") + "|" + relationship.fillna("")


def plan_retier(*, now: datetime | None = None, policy: TierPolicy | None = None) -> RetierPlan:
    """Score everyone and compare with the stored assessments; writes nothing."""
    now = now or timezone.now()
    policy = policy or current_policy()
    new = score(load_inputs(now), policy, now)
    frame = new.join(_existing(), how="left")
    has_old = frame["old_tier"].notna()
    override_live = (
        has_old
        & (frame["old_override_tier"].fillna("") != "")
        & (pd.to_datetime(frame["old_override_expires_at"], utc=True) > pd.Timestamp(now))
    )
    expired = has_old & (frame["old_override_tier"].fillna("") != "") & ~override_live
    frame["tier"] = frame["computed_tier"].where(~override_live, frame["old_override_tier"])
    for name in ("override_tier", "override_reason"):
        frame[name] = frame["old_" + name].where(override_live, "").fillna("")
    frame["override_by"] = frame["old_override_by"].where(override_live, None)
    frame["override_expires_at"] = frame["old_override_expires_at"].where(override_live, None)
    frame["expired"] = expired
    old_key = _key(frame["old_tier"], frame["old_potential"], frame["old_relationship"]).where(has_old, "")
    new_key = _key(frame["tier"], frame["potential"], frame["relationship"])
    frame["label_changed"] = old_key != new_key
    frame["old_key"] = old_key
    frame["new_key"] = new_key
    changed = ~has_old
    for name in ("tier", "computed_tier", "potential", "relationship", "score", "rfm_r", "rfm_f", "rfm_m"):
        changed |= frame[name].astype(str) != frame["old_" + name].astype(str)
    changed |= frame["policy_version"] != frame["old_policy_version"]
    changed |= (frame["annual_amount"] - pd.to_numeric(frame["old_annual_amount"], errors="coerce")).abs().fillna(
        1
    ) > 0.001
    changed |= frame["breakdown"] != frame["old_breakdown"]
    changed |= expired
    frame["changed"] = changed
    frame["is_new"] = ~has_old
    tier_moved = frame[frame["old_tier"].fillna("") != frame["tier"]]
    moves = Counter(
        f"{a or '—'} → {b}" for a, b in zip(tier_moved["old_tier"].fillna(""), tier_moved["tier"], strict=True)
    )
    plan = RetierPlan(now=now, policy=policy, total=len(frame), frame=frame)
    plan.moves = dict(sorted(moves.items()))
    plan.changes = int(frame["label_changed"].sum())
    sample_ids = list(frame.index[frame["label_changed"]][:SAMPLE])
    names = dict(Customer.objects.filter(pk__in=sample_ids).values_list("pk", "name"))
    sample = frame.loc[sample_ids, ["old_key", "new_key", "score"]]
    plan.sample = [
        {
            "id": int(pk),
            "name": names.get(pk, ""),
            "from": _label_from_key(row.old_key),
            "to": _label_from_key(row.new_key),
            "score": int(row.score),
        }
        for pk, row in sample.iterrows()
    ]
    return plan


def _label_from_key(key: str) -> str:
    from ..models import combined_label

    if not key:
        return "—"
    tier, potential, relationship = key.split("|")
    return combined_label(tier, potential, relationship)


def preview_retier(*, now: datetime | None = None) -> RetierPlan:
    plan = plan_retier(now=now)
    plan.frame = None
    return plan


def _assessment(pk, row, now) -> TierAssessment:
    return TierAssessment(
        customer_id=int(pk),
        tier=row.tier,
        computed_tier=row.computed_tier,
        potential=row.potential,
        relationship=row.relationship,
        score=int(row.score),
        annual_amount=Decimal(str(round(float(row.annual_amount), 2))),
        rfm_r=int(row.rfm_r),
        rfm_f=int(row.rfm_f),
        rfm_m=int(row.rfm_m),
        breakdown=row.breakdown,
        policy_version=int(row.policy_version),
        assessed_at=now,
        override_tier=row.override_tier or "",
        override_reason=row.override_reason or "",
        override_by_id=None if pd.isna(row.override_by) else int(row.override_by),
        override_expires_at=None if pd.isna(row.override_expires_at) else row.override_expires_at,
    )


@transaction.atomic
def apply_retier(*, by=None, now: datetime | None = None) -> RetierPlan:
    """Re-tier every customer: bulk writes of what changed, history rows for real label changes."""
    plan = plan_retier(now=now)
    now, frame = plan.now, plan.frame
    todo = frame[frame["changed"]]
    new_rows = [_assessment(pk, row, now) for pk, row in todo[todo["is_new"]].iterrows()]
    TierAssessment.objects.bulk_create(new_rows, batch_size=CHUNK)
    updated = [_assessment(pk, row, now) for pk, row in todo[~todo["is_new"]].iterrows()]
    TierAssessment.objects.bulk_update(updated, [*ASSESSMENT_FIELDS, "assessed_at"], batch_size=CHUNK)
    moved = frame[frame["label_changed"]]
    TierChange.objects.bulk_create(
        [
            TierChange(
                customer_id=int(pk),
                from_tier=row.old_tier if isinstance(row.old_tier, str) else "",
                to_tier=row.tier,
                from_label=row.old_key,
                to_label=row.new_key,
                kind=TierChange.Kind.EXPIRED if row.expired else TierChange.Kind.RETIER,
                policy_version=plan.policy.version,
                by=by,
                changed_at=now,
            )
            for pk, row in moved.iterrows()
        ],
        batch_size=CHUNK,
    )
    TierRun.objects.create(
        ran_at=now,
        by=by,
        policy_version=plan.policy.version,
        customers=plan.total,
        changed=plan.changes,
        moves=plan.moves,
    )
    plan.frame = None
    return plan


# --- overrides --------------------------------------------------------------------------------


@transaction.atomic
def override_tier(*, customer: Customer, tier: str, reason: str, by, now: datetime | None = None) -> TierAssessment:
    """A manager sets the tier by hand, with a reason; it holds until the next quarterly review."""
    if not can_manage_tiers(by):
        raise PermissionDenied
    if tier not in ValueTier.values:
        raise TieringError(_("Unknown tier."))
    if not reason.strip():
        raise TieringError(_("Give a reason for the override."))
    now = now or timezone.now()
    assessment = TierAssessment.objects.select_for_update().filter(customer=customer).first()
    if assessment is None:
        raise TieringError(_("This customer has not been tiered yet: run a re-tier first."))
    old_key = f"{assessment.tier}|{assessment.potential}|{assessment.relationship}"
    from_tier = assessment.tier
    assessment.override_tier = tier
    assessment.override_reason = reason.strip()
    assessment.override_by = by
    assessment.override_expires_at = next_review(now)
    assessment.tier = tier
    assessment.save()
    TierChange.objects.create(
        customer=customer,
        from_tier=from_tier,
        to_tier=tier,
        from_label=old_key,
        to_label=f"{tier}|{assessment.potential}|{assessment.relationship}",
        kind=TierChange.Kind.OVERRIDE,
        reason=assessment.override_reason,
        by=by,
        changed_at=now,
    )
    return assessment
