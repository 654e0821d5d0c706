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
                 "(prospect_id, created, source, attributes, converted_customer_id)")


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def ranked(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df
