"""Per-customer revenue inputs of tiering, from every registered revenue source, as columns.

One query per source and input; everything else is pandas over columns (no per-customer query).
"""

from datetime import datetime, timedelta

import pandas as pd

from . import revenue

DEAL_COLUMNS = ["customer_id", "amount", "at", "product_line"]
INPUT_COLUMNS = [
    "amount_12m",  # sum of deals in the last 12 months
    "deals_12m",  # number of deals in the last 12 months (RFM frequency)
    "deals_24m",  # number of deals in the last 24 months (one-off detection)
    "last_deal_at",  # most recent deal (RFM recency)
    "first_deal_at",  # first deal ever (relationship length when no start date is recorded)
    "product_lines",  # distinct product lines in the last 24 months
    "renewal_rate",  # % of the previous year's product lines bought again this year; NaN: nothing to renew
]
YEAR = timedelta(days=365)
PIECE = 100_000  # rows turned into compact columns at a time (Decimals and datetimes never pile up)


def _compact(piece: pd.DataFrame) -> pd.DataFrame:
    if "amount" in piece:
        piece["amount"] = pd.to_numeric(piece["amount"], errors="coerce").astype(float)
    for column in ("at", "first_deal_at"):
        if column in piece:
            piece[column] = pd.to_datetime(piece[column], utc=True)
    if "product_line" in piece:
        piece["product_line"] = piece["product_line"].fillna("").astype(str)
    return piece


def _frame(rows, columns) -> pd.DataFrame:
    """A DataFrame of typed columns from a stream of tuples, converted piece by piece."""
    pieces, batch = [], []
    for row in rows:
        batch.append(row)
        if len(batch) >= PIECE:
            pieces.append(_compact(pd.DataFrame.from_records(batch, columns=columns)))
            batch = []
    pieces.append(_compact(pd.DataFrame.from_records(batch, columns=columns)))
    return pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]


def revenue_inputs(now: datetime) -> pd.DataFrame:
    """DataFrame indexed by customer_id with INPUT_COLUMNS; customers without deals are absent."""
    since = now - 2 * YEAR
    deal_frames, first_frames = [], []
    for source in revenue.sources():
        deal_frames.append(_frame(source.deals(since), DEAL_COLUMNS))
        if source.first_dates is not None:
            first_frames.append(_frame(source.first_dates(), ["customer_id", "first_deal_at"]))
    deals = pd.concat(deal_frames, ignore_index=True) if deal_frames else _frame([], DEAL_COLUMNS)
    deals = deals[deals["at"] < now] if len(deals) else deals
    if not len(deals):
        out = pd.DataFrame(columns=INPUT_COLUMNS)
        out.index.name = "customer_id"
        return out
    deals["amount"] = pd.to_numeric(deals["amount"], errors="coerce").fillna(0.0).astype(float)
    deals["at"] = pd.to_datetime(deals["at"], utc=True)
    deals["product_line"] = deals["product_line"].fillna("").astype(str)
    cutoff = pd.Timestamp(now - YEAR)
    deals["current"] = deals["at"] >= cutoff
    grouped = deals.groupby("customer_id")
    current = deals[deals["current"]].groupby("customer_id")
    out = pd.DataFrame(
        {
            "amount_12m": current["amount"].sum(),
            "deals_12m": current.size(),
            "deals_24m": grouped.size(),
            "last_deal_at": grouped["at"].max(),
            "product_lines": grouped["product_line"].nunique(),
        }
    )
    # renewal: of the product lines bought in the previous year, the share bought again this year
    lines = deals.groupby(["customer_id", "product_line"])["current"].agg(["any", "all"])
    had_previous = ~lines["all"]  # some deal of this line fell in the previous year
    renewed = had_previous & lines["any"]
    per_customer = pd.DataFrame({"previous": had_previous, "renewed": renewed}).groupby(level=0).sum()
    rate = per_customer["renewed"] * 100.0 / per_customer["previous"].where(per_customer["previous"] > 0)
    out["renewal_rate"] = rate
    if first_frames:
        firsts = pd.concat(first_frames, ignore_index=True)
        firsts["first_deal_at"] = pd.to_datetime(firsts["first_deal_at"], utc=True)
        out["first_deal_at"] = firsts.groupby("customer_id")["first_deal_at"].min()
    else:
        out["first_deal_at"] = grouped["at"].min()
    out[["amount_12m"]] = out[["amount_12m"]].fillna(0.0)
    out[["deals_12m"]] = out[["deals_12m"]].fillna(0).astype(int)
    out.index.name = "customer_id"
    return out[INPUT_COLUMNS]
