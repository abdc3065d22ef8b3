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

Idempotent: only rows whose result differs are written (the breakdown carries a fingerprint of
every input and point, so comparing needs no JSON), and a TierChange row is written only when the
combined label (tier, potential, relationship) really changes. Writes are set-based: on
PostgreSQL COPY into a temporary table and one INSERT … ON CONFLICT DO UPDATE, plus COPY of the
history rows; elsewhere bulk_create upserts in chunks. Manual overrides hold
until the next review (the first day of the next quarter) and are cleared by the first re-tier
after that.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Max, Q
from django.db.models.fields.json import KT
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.access import can_edit_owned, has_role, is_admin
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
    TierInputs,
    TierPolicy,
    TierRun,
    ValueTier,
    combined_label,
)
from ..selectors_revenue import revenue_inputs

CHUNK = 2000
SAMPLE = 20
OUTLOOK_POINTS = {Outlook.GROWING: 2, Outlook.STABLE: 0, Outlook.SHRINKING: -2}
EXPANDING_POINTS, NEEDS_POINTS = 1, 1
BUDGET_POINTS = {BudgetLevel.TOP: 1, BudgetLevel.NORMAL: 0, BudgetLevel.CUT: -2}
RETIER_LOCK = 5_202_605  # pg_advisory_xact_lock key of apply_retier


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

READ_CHUNK = 100_000  # rows per DataFrame piece while reading (bounds the memory of Python tuples)
COPY_CHUNK = 50_000  # rows per piece while writing
# The "why" of every assessment: these columns of score() are stored as the assessment's
# breakdown JSON (plus "fp", their fingerprint, which tells a re-tier whether anything changed).
BREAKDOWN = [
    "amount",
    "industry_avg",
    "amount_mode",
    "amount_a_at",
    "amount_b_at",
    "amount_pts",
    "margin",
    "margin_pts",
    "renewal",
    "renewal_pts",
    "score",
    "deals_24m",
    "one_off",
    "outlook",
    "outlook_pts",
    "expanding",
    "needs",
    "budget_level",
    "budget_pts",
    "potential_pts",
    "since",
    "years",
    "product_lines",
    "referrals",
    "deals_12m",
    "last_deal",
]


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    """A DataFrame from a stream of tuples, built in pieces so the tuples never all live at once."""
    pieces, batch = [], []
    for row in rows:
        batch.append(row)
        if len(batch) >= READ_CHUNK:
            pieces.append(pd.DataFrame.from_records(batch, columns=columns))
            batch = []
    if batch or not pieces:
        pieces.append(pd.DataFrame.from_records(batch, columns=columns))
    return pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]


def load_inputs(now: datetime) -> pd.DataFrame:
    """Every customer (not merged away) with its archive and revenue inputs: one query each."""
    has_needs = ExpressionWrapper(~Q(needs="") | ~Q(development_plans=""), output_field=BooleanField())
    rows = (
        Customer.objects.filter(merged_into__isnull=True)
        .order_by()
        .annotate(has_needs=has_needs)
        .values_list(
            "id",
            "industry",
            "has_needs",
            "tier_inputs__expanding",
            "tier_inputs__budget_level",
            "tier_inputs__margin_rate",
            "tier_inputs__cooperation_since",
            "tier_inputs__referrals",
        )
        .iterator(chunk_size=20000)
    )
    columns = ["customer_id", "industry", "needs", "expanding", "budget_level", "margin", "since", "referrals"]
    frame = _frame(rows, columns).set_index("customer_id")
    frame["industry"] = frame["industry"].fillna("").astype("category")
    return frame.join(revenue_inputs(now), how="left")


def _points(hit_a: pd.Series, hit_b: pd.Series, weight: int) -> pd.Series:
    """Full weight at the A threshold, half of it at the B threshold, nothing below."""
    return pd.Series(np.where(hit_a, float(weight), np.where(hit_b, weight / 2.0, 0.0)), index=hit_a.index)


def _quintile(values: pd.Series) -> pd.Series:
    """1–5 by percentile rank (higher value, higher score); ties share the higher score."""
    if values.empty:
        return values.astype(int)
    pct = values.rank(method="max", pct=True)
    return pd.Series(np.ceil(pct * 5 - 1e-9).clip(1, 5).astype(int), index=values.index)


def _numbers(frame: pd.DataFrame, column: str, fill=None) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan if fill is None else fill, index=frame.index, dtype=float)
    values = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return values if fill is None else values.fillna(fill)


def _local_dates(series: pd.Series) -> pd.Series:
    """Local calendar days (naive midnights, NaT when missing), for the breakdown."""
    return series.dt.tz_convert(timezone.get_current_timezone()).dt.tz_localize(None).dt.normalize()


def score(frame: pd.DataFrame, policy: TierPolicy, now: datetime) -> pd.DataFrame:
    """The assessment of every row of `frame` (see load_inputs) under `policy`, as columns.

    Pure pandas over columns: no query, no per-row Python. The BREAKDOWN columns say why.
    """
    index = frame.index
    industry = frame["industry"].astype(str).fillna("") if "industry" in frame else pd.Series("", index=index)
    amount = _numbers(frame, "amount_12m", 0.0).round(2)
    margin = _numbers(frame, "margin")
    renewal = _numbers(frame, "renewal_rate")
    deals_12m = _numbers(frame, "deals_12m", 0).astype(int)
    deals_24m = _numbers(frame, "deals_24m", 0).astype(int)
    product_lines = _numbers(frame, "product_lines", 0).astype(int)
    referrals = _numbers(frame, "referrals", 0).astype(int)

    # value: amount against thresholds (absolute, or relative to the average of the customers of
    # the same industry that bought — with the absolute A threshold as an alternative way to A)
    buying = amount.where(amount > 0)
    industry_avg = buying.groupby(industry, observed=True).transform("mean").fillna(0.0).round(2)
    a_abs, b_abs = float(policy.amount_a_absolute), float(policy.amount_b_absolute)
    if policy.amount_mode == AmountMode.ABSOLUTE:
        amount_a_at = pd.Series(a_abs, index=index)
        amount_b_at = pd.Series(b_abs, index=index)
    else:
        relative_a = industry_avg * policy.amount_a_ratio / 100.0
        amount_a_at = relative_a.where((industry_avg > 0) & (relative_a < a_abs), a_abs).round(2)
        amount_b_at = (industry_avg * policy.amount_b_ratio / 100.0).round(2)
    bought = amount > 0
    amount_pts = _points(bought & (amount >= amount_a_at), bought & (amount >= amount_b_at), policy.weight_amount)
    margin_pts = _points(margin >= float(policy.margin_a), margin >= float(policy.margin_b), policy.weight_margin)
    renewal_pts = _points(renewal >= float(policy.renewal_a), renewal >= float(policy.renewal_b), policy.weight_renewal)
    total = np.floor(amount_pts + margin_pts + renewal_pts + 0.5).astype(int)
    one_off = deals_24m <= 1
    tier = pd.Series(
        np.where(
            total >= policy.band_a,
            ValueTier.A.value,
            np.where(total >= policy.band_b, ValueTier.B.value, ValueTier.C.value),
        ),
        index=index,
    )
    if policy.one_off_is_c:
        tier = tier.where(~one_off, ValueTier.C.value)

    # potential: points against the policy's thresholds
    outlook_map = {str(k): str(v) for k, v in (policy.industry_outlook or {}).items()}
    outlook = industry.map(outlook_map).fillna(Outlook.STABLE.value).astype(str)
    outlook_pts = outlook.map({str(k): v for k, v in OUTLOOK_POINTS.items()}).fillna(0).astype(int)
    expanding = frame["expanding"].fillna(False).astype(bool) if "expanding" in frame else pd.Series(False, index)
    has_needs = frame["needs"].fillna(False).astype(bool) if "needs" in frame else pd.Series(False, index)
    budget = frame["budget_level"].fillna("").astype(str) if "budget_level" in frame else pd.Series("", index)
    budget_pts = budget.map({str(k): v for k, v in BUDGET_POINTS.items()}).fillna(0).astype(int)
    potential_pts = outlook_pts + expanding.astype(int) * EXPANDING_POINTS + has_needs.astype(int) * NEEDS_POINTS
    potential_pts = potential_pts + budget_pts
    potential = pd.Series(
        np.where(
            potential_pts >= policy.potential_high,
            Potential.HIGH.value,
            np.where(potential_pts <= policy.potential_low, Potential.LOW.value, Potential.MEDIUM.value),
        ),
        index=index,
    )

    # relationship: since the recorded start of the cooperation, else the first deal
    since = pd.to_datetime(frame["since"] if "since" in frame else pd.Series(pd.NaT, index), errors="coerce")
    since = since.dt.tz_localize(timezone.get_current_timezone()).dt.tz_convert("UTC")
    first_deal = pd.to_datetime(frame.get("first_deal_at", pd.Series(pd.NaT, index)), utc=True, errors="coerce")
    start = since.dt.as_unit("ns").fillna(first_deal.dt.as_unit("ns"))
    days = (pd.Timestamp(now).tz_convert("UTC") - start).dt.days
    years = (days / 365.25).round(1)
    relationship = pd.Series(
        np.select(
            [
                start.isna() | (days < policy.new_months * 30.44),
                (days >= policy.strategic_years * 365.25)
                & (product_lines >= policy.strategic_product_lines)
                & (referrals >= policy.strategic_referrals),
                days >= policy.long_term_years * 365.25,
            ],
            [Relationship.NEW.value, Relationship.STRATEGIC.value, Relationship.LONG_TERM.value],
            default=Relationship.DEVELOPING.value,
        ),
        index=index,
    )

    # RFM quintiles among the customers that bought in the last two years (the others: 1, 1, 1)
    last_deal = pd.to_datetime(frame.get("last_deal_at", pd.Series(pd.NaT, index)), utc=True, errors="coerce")
    buyers = last_deal.notna()
    rfm = pd.DataFrame(1, index=index, columns=["rfm_r", "rfm_f", "rfm_m"])
    if buyers.any():
        rfm.loc[buyers, "rfm_r"] = _quintile(last_deal[buyers].astype("int64"))
        rfm.loc[buyers, "rfm_f"] = _quintile(deals_12m[buyers])
        rfm.loc[buyers, "rfm_m"] = _quintile(amount[buyers])

    out = pd.DataFrame(
        {
            "computed_tier": tier,
            "potential": potential,
            "relationship": relationship,
            "score": total,
            "annual_amount": amount,
            "rfm_r": rfm["rfm_r"],
            "rfm_f": rfm["rfm_f"],
            "rfm_m": rfm["rfm_m"],
            # breakdown (stable dtypes: the fingerprint hashes them)
            "amount": amount,
            "industry_avg": industry_avg,
            "amount_mode": str(policy.amount_mode),
            "amount_a_at": amount_a_at.astype(float),
            "amount_b_at": amount_b_at.astype(float),
            "amount_pts": amount_pts,
            "margin": margin.round(2),
            "margin_pts": margin_pts,
            "renewal": renewal.round(1),
            "renewal_pts": renewal_pts,
            "deals_24m": deals_24m,
            "one_off": one_off.astype(bool),
            "outlook": outlook,
            "outlook_pts": outlook_pts,
            "expanding": expanding,
            "needs": has_needs,
            "budget_level": budget,
            "budget_pts": budget_pts,
            "potential_pts": potential_pts.astype(int),
            "since": _local_dates(start),
            "years": years.astype(float),
            "product_lines": product_lines,
            "referrals": referrals,
            "deals_12m": deals_12m,
            "last_deal": _local_dates(last_deal),
        },
        index=index,
    )
    out["policy_version"] = policy.version
    hashed = out[["computed_tier", "potential", "relationship", "rfm_r", "rfm_f", "rfm_m", *BREAKDOWN]]
    out["fp"] = pd.util.hash_pandas_object(hashed, index=False).astype("int64").astype(str)
    return out


def breakdown_dicts(rows: pd.DataFrame) -> list[dict]:
    """The breakdown of each row as plain JSON values (what PostgreSQL's jsonb_build_object gives)."""
    records = rows[[*BREAKDOWN, "fp"]].astype(object).to_dict("records")
    for record in records:
        for key, value in record.items():
            if value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
                record[key] = None
            elif isinstance(value, pd.Timestamp):
                record[key] = value.date().isoformat()
            elif isinstance(value, np.generic):
                record[key] = value.item()
    return records


# --- preview and apply ----------------------------------------------------------------------


@dataclass
class RetierPlan:
    now: datetime
    policy: TierPolicy
    total: int = 0
    moves: dict = field(default_factory=dict)  # "B → A": count (effective tier changes, incl. "— → A")
    changes: int = 0  # customers whose combined label changes (= history rows on apply)
    writes: int = 0  # assessments to insert or update
    sample: list = field(default_factory=list)
    frame: pd.DataFrame | None = None


EXISTING = [
    "tier",
    "computed_tier",
    "potential",
    "relationship",
    "score",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "policy_version",
    "override_tier",
    "override_reason",
    "override_by_id",
    "override_expires_at",
    "fp",
]


def _existing() -> pd.DataFrame:
    """The stored assessments (without their breakdown: its fingerprint is enough to compare)."""
    rows = (
        TierAssessment.objects.order_by()
        .annotate(fp=KT("breakdown__fp"))
        .values_list("customer_id", *EXISTING)
        .iterator(chunk_size=20000)
    )
    frame = _frame(rows, ["customer_id", *["old_" + name for name in EXISTING]]).set_index("customer_id")
    frame["old_override_expires_at"] = pd.to_datetime(frame["old_override_expires_at"], utc=True)
    return frame


def _key(tier: pd.Series, potential: pd.Series, relationship: pd.Series) -> pd.Series:
    return (
        tier.fillna("").astype(str) + "|" + potential.fillna("").astype(str) + "|" + relationship.fillna("").astype(str)
    )


def plan_retier(
    *, now: datetime | None = None, policy: TierPolicy | None = None, sample_from=None, sample_size: int = SAMPLE
) -> RetierPlan:
    """Score everyone and compare with the stored assessments; writes nothing.

    `sample_from`: a customer queryset the sample list is limited to (what the viewer may see).
    """
    now = now or timezone.now()
    policy = policy or current_policy()
    frame = score(load_inputs(now), policy, now).join(_existing(), how="left")
    has_old = frame["old_tier"].notna()
    with_override = has_old & (frame["old_override_tier"].fillna("") != "")
    override_live = with_override & (frame["old_override_expires_at"] > pd.Timestamp(now).tz_convert("UTC"))
    frame["expired"] = with_override & ~override_live
    frame["tier"] = frame["computed_tier"].where(~override_live, frame["old_override_tier"])
    frame["override_tier"] = frame["old_override_tier"].where(override_live, "").fillna("")
    frame["override_reason"] = frame["old_override_reason"].where(override_live, "").fillna("")
    frame["override_by_id"] = frame["old_override_by_id"].where(override_live)
    frame["override_expires_at"] = frame["old_override_expires_at"].where(override_live)
    frame["old_key"] = _key(frame["old_tier"], frame["old_potential"], frame["old_relationship"]).where(has_old, "")
    frame["new_key"] = _key(frame["tier"], frame["potential"], frame["relationship"])
    frame["label_changed"] = frame["old_key"] != frame["new_key"]
    changed = ~has_old | frame["expired"] | (frame["fp"] != frame["old_fp"].fillna(""))
    for name in ("tier", "score", "policy_version"):
        changed |= frame[name].astype(str) != frame["old_" + name].map(_plain).astype(str)
    frame["changed"] = changed
    frame["is_new"] = ~has_old

    tier_moved = frame["old_tier"].fillna("") != frame["tier"]
    moves = (
        pd.DataFrame({"a": frame.loc[tier_moved, "old_tier"].fillna("—"), "b": frame.loc[tier_moved, "tier"]})
        .value_counts()
        .sort_index()
    )
    plan = RetierPlan(now=now, policy=policy, total=len(frame), frame=frame)
    plan.moves = {f"{a} → {b}": int(n) for (a, b), n in moves.items()}
    plan.changes = int(frame["label_changed"].sum())
    plan.writes = int(changed.sum())
    plan.sample = _sample(frame, sample_from, sample_size)
    return plan


def _plain(value) -> str:
    """A stored number as the text the new column gives (85.0 read back next to NaN → "85")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sample(frame: pd.DataFrame, sample_from, size: int) -> list[dict]:
    """Up to `size` customers whose label changes (limited to `sample_from`), biggest score first."""
    moved = frame.loc[frame["label_changed"], ["old_key", "new_key", "score", "old_score"]]
    if sample_from is not None and len(moved):
        visible = set(sample_from.filter(pk__in=list(moved.index[: size * 50])).values_list("pk", flat=True))
        moved = moved[moved.index.isin(visible)]
    moved = moved.sort_values("score", ascending=False).head(size)
    names = dict(Customer.objects.filter(pk__in=list(moved.index)).values_list("pk", "name"))
    return [
        {
            "id": int(pk),
            "name": names.get(pk, ""),
            "from": label_from_key(old_key),
            "to": label_from_key(new_key),
            "score": int(new_score),
            "old_score": None if pd.isna(old_score) else int(old_score),
        }
        for pk, old_key, new_key, new_score, old_score in moved.itertuples(name=None)
    ]


def label_from_key(key: str) -> str:
    """ "B|medium|long_term" → "B + medium potential + long-term" (translated)."""
    if not key:
        return "—"
    tier, potential, relationship = key.split("|")
    return combined_label(tier, potential, relationship)


def preview_retier(*, now: datetime | None = None, sample_from=None) -> RetierPlan:
    plan = plan_retier(now=now, sample_from=sample_from)
    plan.frame = None
    return plan


ASSESSMENT_COLUMNS = [  # computed columns of an assessment, as written by a re-tier
    "tier",
    "computed_tier",
    "potential",
    "relationship",
    "score",
    "annual_amount",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "policy_version",
]
CHANGE_COLUMNS = [
    "customer_id",
    "from_tier",
    "to_tier",
    "from_label",
    "to_label",
    "kind",
    "policy_version",
    "reason",
    "by_id",
    "changed_at",
]


def _changes(moved: pd.DataFrame, plan: RetierPlan, by_id) -> pd.DataFrame:
    """The history rows of a re-tier as columns (no user text in them)."""
    return pd.DataFrame(
        {
            "customer_id": moved.index,
            "from_tier": moved["old_tier"].fillna("").to_numpy(),
            "to_tier": moved["tier"].to_numpy(),
            "from_label": moved["old_key"].to_numpy(),
            "to_label": moved["new_key"].to_numpy(),
            "kind": np.where(moved["expired"], TierChange.Kind.EXPIRED.value, TierChange.Kind.RETIER.value),
            "policy_version": plan.policy.version,
            "reason": "",
            "by_id": pd.array([by_id] * len(moved), dtype="Int64"),
            "changed_at": plan.now,
        }
    )


# --- PostgreSQL: binary COPY of integer-coded columns into a temporary table, the JSON built --------
# there, one INSERT … ON CONFLICT DO UPDATE; binary COPY of the history rows. Numbers travel as
# int64 (money and points in cents, days since 1970 for dates, NULL as a sentinel): no text
# formatting in Python, the database turns them back.

LOAD_TABLE = "tier_assessment_load"
NULL_CODE = np.iinfo(np.int64).min
EPOCH_DAY = np.datetime64("1970-01-01", "D")


def _code(series: pd.Series) -> tuple[list, str, str]:
    """(values, COPY type, SQL expression turning the loaded column back) of one column."""
    name, kind = series.name, series.dtype.kind
    if kind == "M":  # local calendar day → "YYYY-MM-DD"
        days = (series.to_numpy().astype("datetime64[D]") - EPOCH_DAY).astype("int64")
        values = np.where(series.isna().to_numpy(), NULL_CODE, days)
        sql = f"to_char(date '1970-01-01' + NULLIF({name}, {NULL_CODE})::int, 'YYYY-MM-DD')"
        return values.tolist(), "int8", sql
    if kind == "f":  # hundredths
        raw = series.to_numpy(dtype=float)
        values = np.where(np.isnan(raw), NULL_CODE, np.round(np.nan_to_num(raw) * 100)).astype("int64")
        return values.tolist(), "int8", f"(NULLIF({name}, {NULL_CODE}) / 100.0)::float8"
    if kind == "b":
        return series.to_numpy().astype("int64").tolist(), "int8", f"({name} = 1)"
    if kind in "iu":
        return series.to_numpy().astype("int64").tolist(), "int8", name
    return series.astype(str).tolist(), "text", name


def _copy_rows(cursor, table: str, columns: list[str], types: list[str], values: list) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in zip(*values, strict=True):
            copy.write_row(row)


def _write_postgresql(todo: pd.DataFrame, moved: pd.DataFrame, plan: RetierPlan, by_id) -> None:
    table = TierAssessment._meta.db_table
    names = [n for n in dict.fromkeys(["customer_id", *ASSESSMENT_COLUMNS, *BREAKDOWN, "fp"]) if n != "amount_mode"]
    exprs = {}
    with connection.cursor() as cursor:
        raw = cursor.connection.cursor()
        raw.execute(f"DROP TABLE IF EXISTS {LOAD_TABLE}")
        for start in range(0, len(todo), COPY_CHUNK):
            piece = todo.iloc[start : start + COPY_CHUNK].reset_index()
            coded = {name: _code(piece[name]) for name in names}
            if start == 0:
                exprs = {name: sql for name, (_values, _type, sql) in coded.items()}
                typed = ", ".join(
                    f"{name} {'bigint' if kind == 'int8' else kind}" for name, (_v, kind, _s) in coded.items()
                )
                raw.execute(f"CREATE TEMP TABLE {LOAD_TABLE} ({typed}) ON COMMIT DROP")
            _copy_rows(raw, LOAD_TABLE, names, [c[1] for c in coded.values()], [c[0] for c in coded.values()])
        if exprs:
            exprs["annual_amount"] = f"NULLIF(annual_amount, {NULL_CODE})::numeric / 100"
            exprs["amount_mode"] = "%(mode)s::text"
            exprs["fp"] = "fp::text"
            breakdown = ", ".join(f"'{name}', {exprs[name]}" for name in [*BREAKDOWN, "fp"])
            computed = ", ".join(ASSESSMENT_COLUMNS)
            selected = ", ".join(exprs[name] for name in ASSESSMENT_COLUMNS)
            updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in [*ASSESSMENT_COLUMNS, "breakdown", "assessed_at"])
            # an expired override is cleared; a live one stays as it is (its tier is in "tier" already)
            clear = ", ".join(
                f"{name} = CASE WHEN {table}.override_expires_at <= %(now)s THEN {empty} ELSE {table}.{name} END"
                for name, empty in (
                    ("override_tier", "''"),
                    ("override_reason", "''"),
                    ("override_by_id", "NULL"),
                    ("override_expires_at", "NULL"),
                )
            )
            into = f"customer_id, {computed}, breakdown, assessed_at, override_tier, override_reason"
            raw.execute(
                f"INSERT INTO {table} ({into}) "  # noqa: S608 - names from code
                f"SELECT customer_id, {selected}, jsonb_build_object({breakdown}), %(now)s, '', '' FROM {LOAD_TABLE} "
                f"ON CONFLICT (customer_id) DO UPDATE SET {updates}, {clear}",
                {"now": plan.now, "mode": str(plan.policy.amount_mode)},
            )
            raw.execute(f"DROP TABLE {LOAD_TABLE}")
        n = len(moved)
        _copy_rows(
            raw,
            TierChange._meta.db_table,
            CHANGE_COLUMNS,
            _column_types(raw, TierChange._meta.db_table, CHANGE_COLUMNS),
            [
                moved.index.tolist(),
                moved["old_tier"].fillna("").astype(str).tolist(),
                moved["tier"].astype(str).tolist(),
                moved["old_key"].astype(str).tolist(),
                moved["new_key"].astype(str).tolist(),
                np.where(moved["expired"], TierChange.Kind.EXPIRED.value, TierChange.Kind.RETIER.value).tolist(),
                [plan.policy.version] * n,
                [""] * n,
                [by_id] * n,
                [plan.now] * n,
            ],
        )


BINARY_TYPES = {"bigint": "int8", "integer": "int4", "smallint": "int2", "timestamp with time zone": "timestamptz"}


def _column_types(cursor, table: str, columns: list[str]) -> list[str]:
    """The binary COPY type of each column (integers must match the column's width exactly)."""
    cursor.execute(
        "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
        [table],
    )
    found = dict(cursor.fetchall())
    return [BINARY_TYPES.get(found[name], "text") for name in columns]


# --- other databases (SQLite): the same rows through bulk_create upserts, in chunks ---------------


def _write_orm(todo: pd.DataFrame, moved: pd.DataFrame, plan: RetierPlan, by_id) -> None:
    override = ["override_tier", "override_reason", "override_by_id", "override_expires_at"]
    update_fields = [*ASSESSMENT_COLUMNS, "breakdown", "assessed_at", *(f.removesuffix("_id") for f in override)]
    for start in range(0, len(todo), CHUNK):
        part = todo.iloc[start : start + CHUNK]
        values = part[[*ASSESSMENT_COLUMNS, *override]].astype(object)
        values = values.where(values.notna(), None)
        objs = []
        for pk, why, row in zip(part.index.tolist(), breakdown_dicts(part), values.to_dict("records"), strict=True):
            row["annual_amount"] = Decimal(f"{row['annual_amount']:.2f}")
            row["override_tier"], row["override_reason"] = row["override_tier"] or "", row["override_reason"] or ""
            row["override_by_id"] = None if row["override_by_id"] is None else int(row["override_by_id"])
            objs.append(TierAssessment(customer_id=pk, breakdown=why, assessed_at=plan.now, **row))
        TierAssessment.objects.bulk_create(
            objs, update_conflicts=True, unique_fields=["customer"], update_fields=update_fields
        )
    changes = _changes(moved, plan, by_id).astype(object)
    changes = changes.where(changes.notna(), None)
    for start in range(0, len(changes), CHUNK):
        rows = changes.iloc[start : start + CHUNK].itertuples(index=False)
        TierChange.objects.bulk_create([TierChange(**dict(zip(CHANGE_COLUMNS, row, strict=True))) for row in rows])


@transaction.atomic
def apply_retier(*, by=None, now: datetime | None = None, expected_version: int | None = None) -> RetierPlan:
    """Re-tier every customer: set-based writes of what changed, history rows for real label changes.

    Idempotent: a second run finds nothing changed and writes nothing (no assessment, no history;
    only the run itself is logged). Two runs at once are serialised by a transaction lock.
    `expected_version`: refuse when the policy changed since the preview the user confirmed.
    """
    _lock()
    plan = plan_retier(now=now)
    if expected_version is not None and plan.policy.version != expected_version:
        raise TieringError(_("The policy changed since the preview. Preview again before applying."))
    frame = plan.frame
    todo = frame[frame["changed"]]
    moved = frame[frame["label_changed"]]
    by_id = getattr(by, "pk", None)
    writer = _write_postgresql if connection.vendor == "postgresql" else _write_orm
    writer(todo, moved, plan, by_id)
    TierRun.objects.create(
        ran_at=plan.now,
        by_id=by_id,
        policy_version=plan.policy.version,
        customers=plan.total,
        changed=plan.changes,
        moves=plan.moves,
    )
    plan.frame = None
    return plan


def _lock() -> None:
    """Serialise re-tiers (beat and "re-tier now" at once) until the transaction ends."""
    if connection.vendor == "postgresql":  # SQLite serialises every write transaction anyway
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RETIER_LOCK])


@transaction.atomic
def quarterly_review(now: datetime | None = None) -> RetierPlan | None:
    """The scheduled re-tier, once per quarter: a second (or concurrent) delivery finds this
    quarter's scheduled run already logged and does nothing (None)."""
    _lock()
    if TierRun.objects.filter(by__isnull=True, ran_at__gte=quarter_start(now)).exists():
        return None
    return apply_retier(now=now)


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


# --- inputs -----------------------------------------------------------------------------------


@transaction.atomic
def save_tier_inputs(*, inputs: TierInputs, by) -> TierInputs:
    """Record the tiering inputs of a customer (margin, budget, expansion …): whoever may edit the
    customer. Audited by the inputs' history; the tier itself moves at the next re-tier."""
    if not can_edit_owned(by, inputs.customer):
        raise PermissionDenied
    inputs._history_user = by
    inputs.save()
    return inputs
