"""Words, not model terms: the one home of column and figure labels and their units.

Every table cell and every figure the pages show goes through :func:`label` and
:func:`format_value`: a column name (``prob_alive``) becomes words a department head reads
("Chance still active") and its value is shown in its unit (money with the workspace's
currency, ``[analysis] currency``; shares as percent; dates as dates).  Terms that only
mean something inside a model (``T``, BTYD ``recency`` and ``frequency``, ``auc``,
``brier``, a score's ``support``) are marked ``model=True``: pages put them behind a
"How this was computed" disclosure, with :attr:`Label.help` saying what they are.

A name missing here still reads as words (underscores become spaces, the first letter a
capital) with a unit guessed from its ending (``_share`` is a percent, ``_profit`` money).

>>> label("prob_alive").text, format_value(0.953, "prob_alive")
('Chance still active', '95%')
>>> format_value(-1312.5, "profit", currency="EUR")
'−€1,312'
>>> format_value(0.4229, "top_decile_share"), format_value(105.2, "peak_pct_of_total")
('42.3%', '105.2%')
>>> format_value("trade_show", "source")
'trade show'
>>> label("T").model, label("whatif_profit_gain").text
(True, 'Profit gained if they cost the median to serve')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jinja2 import Environment

__all__ = ["LABELS", "Label", "currency_symbol", "format_value", "install", "is_model",
           "label", "main_columns", "model_columns"]


@dataclass(frozen=True)
class Label:
    """How one column or figure reads: words, unit, whether it is a model term, and help.

    ``unit`` is one of ``money``, ``percent`` (a share from 0 to 1), ``pct`` (already in
    percent), ``probability``, ``count``, ``number``, ``ratio`` (times), ``days``,
    ``date``, ``bool``, ``text``, ``code`` (a value such as ``trade_show``, shown as
    "trade show") or ``id``.
    """

    text: str
    unit: str = "number"
    model: bool = False
    help: str = ""


def _m(text: str, help: str = "") -> Label:
    return Label(text, "money", help=help)


def _n(text: str) -> Label:
    return Label(text, "count")


LABELS: dict[str, Label] = {
    # ids, ranks and reasons
    "customer_id": Label("Customer", "id"), "prospect_id": Label("Prospect", "id"),
    "rank": Label("Rank", "count"), "reason": Label("Why", "text"),
    "reasons": Label("Why", "text"), "why": Label("Why", "text"),
    # customer value (BTYD)
    "clv": _m("Predicted value (CLV)", "predicted profit over the coming years, discounted"),
    "value_decile": Label("Value decile (1 = top 10%)", "count"),
    "prob_alive": Label("Chance still active", "probability"),
    "expected_purchases": Label("Expected purchases", "number"),
    "monetary_value": _m("Average order"),
    "expected_spend": _m("Expected spend per order"),
    "frequency": Label("Repeat purchases (model)", "count", True,
                       "repeat purchase days in the data the model learnt from (BTYD 'frequency')"),
    "recency": Label("First to last purchase (model units)", "number", True,
                     "time from a customer's first to last purchase in the model's time unit "
                     "(BTYD 'recency'); it is not the time since they were last seen"),
    "T": Label("Customer age (model units)", "number", True,
               "time from a customer's first purchase to the end of the data ('T')"),
    # answer 1 and 2: value and cost to serve
    "profit": _m("Profit to date"), "revenue": _m("Revenue"), "orders": _n("Orders"),
    "margin": _m("Margin"), "cost_to_serve": _m("Cost to serve"),
    "is_top": Label("In the top 10%", "bool"), "main_cost": Label("Largest cost", "code"),
    "n_support": _n("Support contacts"), "n_return": _n("Returns"),
    "profit_at_median_cost": _m("Profit if served at the median cost"),
    "cost_support": _m("Support cost"), "cost_return": _m("Returns cost"),
    "cost_delivery": _m("Delivery cost"), "cost_discount": _m("Extra discounts"),
    "cost_other": _m("Other costs"),
    # answer 3: advocates
    "direct": _n("Customers referred"), "tree_size": _n("Customers in the referral tree"),
    "depth": _n("Referral levels"),
    "referral_score": Label("Referral score", "number", True,
                            "direct referrals plus half of each further level's, one number "
                            "to rank advocates by"),
    "direct_revenue": _m("Revenue of referred customers"),
    "direct_value": _m("Predicted value of referred customers"),
    "advocacy_value": _m("Advocacy value", "predicted value of the whole referral tree, "
                         "each further level counted at half"),
    "tree_revenue": _m("Revenue of the whole tree"), "nps": Label("NPS answer (0–10)", "number"),
    # answers 4 and 5: prospects
    "score": Label("Likeness to top customers", "probability"),
    "score_decile": Label("Score decile (1 = best 10%)", "count"),
    "status": Label("Status", "code"), "region": Label("Region", "code"),
    "industry": Label("Industry", "code"), "company_size": Label("Company size", "text"),
    "age_band": Label("Age band", "text"), "channel": Label("Channel", "code"),
    "probability": Label("Chance to convert", "probability"), "source": Label("Source", "code"),
    "split": Label("Model split", "text", True,
                   "whether the prospect trained the model ('train'), tested it ('test') or "
                   "was only scored"),
    "converted": Label("Converted", "bool"),
    # the answers' side tables
    "driver": Label("What differs", "text"), "top_text": Label("Top 10% customers", "text"),
    "rest_text": Label("Other customers", "text"), "difference_text": Label("Difference", "text"),
    "top_decile": Label("Top 10% (raw)", "number", True), "rest": Label("Others (raw)", "number",
                                                                        True),
    "difference": Label("Difference (raw)", "number", True),
    "kind": Label("Kind", "code"), "unit": Label("Unit", "text", True),
    "effect": Label("Effect size", "number", True, "how far apart the groups are in standard "
                    "deviations (Cohen's d) or as an odds ratio"),
    "effect_size": Label("Effect measure", "text", True),
    "top_customers": _n("Top customers"), "segment": Label("Segment", "code"),
    "value": Label("Group", "text"), "customers": _n("Customers"),
    "unprofitable": _n("Unprofitable customers"),
    "unprofitable_share": Label("Share unprofitable", "percent"),
    "loss": _m("Loss"), "amount": _m("Amount"), "count": _n("Count"),
    "measure": Label("Measure", "code"), "advocates": Label("Advocates", "number"),
    "others": Label("Other customers", "number"), "ratio": Label("Ratio", "ratio"),
    "attribute": Label("Attribute", "code"),
    "support": Label("Share of customers with it", "percent", True,
                     "share of all customers who have this attribute ('support')"),
    "base_share": Label("Share of all customers", "percent"),
    "confidence": Label("Top-customer rate with it", "percent", True,
                        "share of customers with this attribute who are top customers "
                        "('confidence')"),
    "lift": Label("Times likelier to be a top customer", "ratio"),
    "predicted": Label("Predicted conversion", "probability"),
    "observed": Label("Observed conversion", "probability"), "prospects": _n("Prospects"),
    # figures of the five answers
    "total_profit": _m("Total profit"),
    "peak_profit": _m("Profit of the profitable customers alone",
                      "the top of the whale curve: profit before the loss-makers"),
    "peak_customers": _n("Customers up to the profit peak"),
    "peak_customer_share": Label("Share of customers who are profitable", "percent"),
    "peak_pct_of_total": Label("Profitable customers' profit, as % of total profit", "pct"),
    "tail_destroys": _m("Profit lost to loss-making customers"),
    "top_decile_share": Label("Share of profit from the top 10%", "percent"),
    "top_decile_profit": _m("Profit from the top 10%"),
    "profitable_customers": _n("Profitable customers"),
    "loss_makers": _n("Loss-making customers"), "loss_makers_loss": _m("What they lose"),
    "top_decile_customers": _n("Customers in the top 10%"),
    "total_clv": _m("Predicted value of all customers"),
    "top_decile_clv": _m("Predicted value of the top 10%"),
    "top_decile_clv_share": Label("Top 10%'s share of predicted value", "percent"),
    "order_lines_without_product": _n("Order lines without a known product"),
    "unprofitable_customers": _n("Unprofitable customers"),
    "total_cost_to_serve": _m("Total cost to serve"),
    "median_cost_to_serve": _m("Median cost to serve a customer"),
    "whatif_profit_gain": _m("Profit gained if they cost the median to serve"),
    "whatif_unprofitable_profit": _m("Their profit at the median cost to serve"),
    "unprofitable_margin": _m("Their margin"),
    "unprofitable_support_contacts": _n("Their support contacts"),
    "unprofitable_returns": _n("Their returns"),
    "unprofitable_cost_support": _m("Their support cost"),
    "unprofitable_cost_return": _m("Their returns cost"),
    "unprofitable_cost_delivery": _m("Their delivery cost"),
    "unprofitable_cost_discount": _m("Their extra discounts"),
    "unprofitable_cost_other": _m("Their other costs"),
    "referrers": _n("Customers who referred someone"), "referred_customers": _n("Customers "
                                                                                "referred"),
    "referred_value": _m("Predicted value of referred customers"),
    "top_advocates": _n("Advocates listed"),
    "top_direct_referrals": _n("Customers they referred"),
    "top_tree_customers": _n("Customers in their referral trees"),
    "top_advocacy_value": _m("Their advocacy value"),
    "max_depth": Label("Referral levels counted", "count", True),
    "decay": Label("Value kept per further level", "percent", True,
                   "each further level of a referral tree counts at this share"),
    "open_prospects": _n("Open prospects"),
    "top_decile_open_prospects": _n("Open prospects in the best 10% of scores"),
    "top_decile_min_score": Label("Lowest score in the best 10%", "probability", True),
    "top_customer_rate": Label("Share of customers counted as top", "percent", True),
    "profile_attributes": Label("Attributes compared", "count", True),
    "mean_top_customer_value": _m("Average value of a top customer"),
    "best_lift": Label("Strongest sign (times likelier to be top)", "ratio"),
    "auc": Label("AUC (ranking quality; 0.5 is chance, 1 is perfect)", "number", True,
                 "how often a prospect who converted was ranked above one who did not, "
                 "on prospects the model had not seen"),
    "brier": Label("Brier score (lower is better)", "number", True,
                   "mean squared gap between predicted chance and what happened"),
    "trained_prospects": Label("Prospects the model learnt from", "count", True),
    "held_out_prospects": Label("Prospects held out to test it", "count", True),
    "conversion_rate": Label("Prospects who became customers", "percent"),
    "expected_conversions_open": _n("Expected new customers among open prospects"),
    "expected_conversions_top": _n("Expected new customers among the listed ones"),
    "mean_customer_value": _m("Average value of a new customer"),
    "last_seen": Label("Last seen", "date"), "first_seen": Label("First seen", "date"),
}

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹",
            "AUD": "A$", "CAD": "C$", "NZD": "NZ$", "CHF": "CHF ", "SEK": "SEK ",
            "NOK": "NOK ", "DKK": "DKK "}
_MONEY_WORDS = ("profit", "revenue", "value", "clv", "cost", "loss", "amount", "margin",
                "spend", "price")


def currency_symbol(code: str) -> str:
    """``"EUR"`` -> ``"€"``; a code without a symbol here is written before the amount."""
    return _SYMBOLS.get(code.upper(), code.upper() + " ")


def label(name: str) -> Label:
    """The :class:`Label` of column or figure *name* (words guessed when it has none)."""
    if name in LABELS:
        return LABELS[name]
    words = name.replace("_", " ").strip()
    words = words[:1].upper() + words[1:]
    if name.endswith(("_share", "_rate")) or name.startswith(("share_", "rate_")) or \
            "_share_" in name:
        return Label(words, "percent")
    if name.endswith(("_at", "_date")):
        return Label(words, "date")
    if name.endswith("_days"):
        return Label(words, "days")
    if name.startswith(("n_", "num_")) or name.endswith(("_count", "_customers")):
        return Label(words, "count")
    if any(w in name for w in _MONEY_WORDS):
        return Label(words, "money")
    return Label(words)


def is_model(name: str) -> bool:
    """Whether *name* is a model term (shown only under "How this was computed")."""
    return label(name).model


def main_columns(columns: list[str]) -> list[str]:
    """*columns* without the model terms."""
    return [c for c in columns if not is_model(c)]


def model_columns(columns: list[str]) -> list[str]:
    """The model terms among *columns*."""
    return [c for c in columns if is_model(c)]


def _number(v: float, digits: int) -> str:
    return f"{v:,.{digits}f}".replace("-", "−")


def format_value(value: Any, name: str, *, currency: str = "USD") -> str:
    """*value* of column or figure *name* as text in its unit ('' when empty)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    unit = label(name).unit
    if isinstance(value, bool) or unit == "bool":
        return "yes" if value in (True, "true", 1) else "no" if value in (False, "false",
                                                                         0) else str(value)
    if isinstance(value, datetime | date) or unit == "date":
        text = value.isoformat() if isinstance(value, datetime | date) else str(value)
        return text[:10]
    if not isinstance(value, int | float):
        return str(value).replace("_", " ") if unit == "code" else str(value)
    if unit == "money":
        sign = "−" if value < 0 else ""
        digits = 2 if 0 < abs(value) < 100 and value != int(value) else 0
        return f"{sign}{currency_symbol(currency)}{abs(value):,.{digits}f}"
    if unit in ("percent", "probability"):
        pct = value * 100
        return _number(pct, 0 if unit == "probability" or pct == int(pct) else 1) + "%"
    if unit == "pct":
        return _number(value, 1) + "%"
    if unit in ("count", "id"):
        return _number(value, 0)
    if unit == "days":
        return f"{_number(value, 0)} day{'' if round(value) == 1 else 's'}"
    if unit == "ratio":
        return _number(value, 1) + "×"
    if isinstance(value, float):
        return _number(value, 1 if abs(value) >= 1 else 2)
    return _number(value, 0)


def install(env: Environment, currency: str) -> None:
    """Give the templates ``col_label``, ``col_help``, ``col_unit``, ``fmt``, ``is_model``
    and the test ``is_model_term``."""
    env.globals.update(
        col_label=lambda name: label(str(name)).text,
        col_help=lambda name: label(str(name)).help,
        col_unit=lambda name: label(str(name)).unit,
        is_model=lambda name: is_model(str(name)),
        fmt=lambda value, name="": format_value(value, str(name), currency=currency),
        currency=currency)
    env.tests["is_model_term"] = lambda name: is_model(str(name))
