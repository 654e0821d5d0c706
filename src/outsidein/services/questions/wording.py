"""Words shared by the five answer builders: the questions and small formatters."""

from __future__ import annotations

import numpy as np
import pandas as pd

Q = {
    "value": "Which customers are most valuable, and why?",
    "cost_to_serve": "Which customers cost more time, energy and money than they are worth?",
    "advocates": "Who are our advocates, bringing new business by referral?",
    "ideal_prospects": "Who are our ideal prospects?",
    "likely_converts": "Which prospects are most likely to become customers, and why?",
}
UNITS = {"support": "contacts", "return": "returns", "delivery": "deliveries",
          "discount": "discounts", "other": "items"}
REASON_ROWS = 5000  # rows of a full list that get a reason in words (the rest: ranked only)
NO_ORDERS = ("no orders loaded: this answer needs order_lines and products; load them with "
              "'outsidein load order_lines FILE' and 'outsidein load products FILE'")
NO_PROSPECTS = ("no prospects loaded: load them with 'outsidein load prospects FILE' "
                 "(prospect_id and created; source, region, industry, company_size, web_visits, "
                 "pricing_visits, email_opens if known; converted_customer_id for those who "
                 "became customers; any other column is kept as an attribute)")


def pct(x: float) -> str:
    """A share in words; never "0%" for a few, nor "100%" for all but a few.

    >>> pct(0.256), pct(0.001), pct(0.998), pct(1.0)
    ('26%', 'under 1%', 'over 99%', '100%')
    """
    if 0 < x < 0.005:
        return "under 1%"
    if 0.995 <= x < 1:
        return "over 99%"
    return f"{100 * x:.0f}%"


def ranked(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df
