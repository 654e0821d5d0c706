"""Plain-words reasons for each customer's value rank, built inside the warehouse.

The reason is an Ibis string expression over the scored customer table, so it
is computed by the engine (DuckDB, Spark ...) for every customer without
pulling anyone into Python.  A reason reads like

    top 10% by value: buys every 3 weeks, average order $84,
    last seen 5 days ago, 92% likely still active, ~4.2 purchases expected in 52 weeks

>>> import ibis
>>> t = ibis.memtable({"frequency": [12.0], "recency": [36.0], "T": [36.7],
...                    "monetary_value": [84.2], "prob_alive": [0.92],
...                    "expected_purchases": [4.2], "value_decile": [1]})
>>> print(t.select(reason=reason_expr(t)).execute().reason[0])  # one line, wrapped here
top 10% by value: buys every 3 weeks, average order $84,
last seen 5 days ago, 92% likely still active, ~4.2 purchases expected in 52 weeks
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

__all__ = ["reason_expr", "history_phrases", "assemble_reason", "days_per_unit"]


def days_per_unit(time_unit: str) -> float:
    """Days in one model time unit ("weeks" -> 7, "days" -> 1).

    Examples
    --------
    >>> days_per_unit("weeks"), days_per_unit("days")
    (7.0, 1.0)
    """
    return 7.0 if time_unit == "weeks" else 1.0


def _int_str(x: ir.NumericValue) -> ir.StringValue:
    """A number rounded to an integer, as text (portable across engines)."""
    return x.round(0).cast("int64").cast("string")


def _one_decimal_str(x: ir.NumericValue) -> ir.StringValue:
    """A non-negative number with one decimal, as text, without engine-specific formatting."""
    tenths = (x * 10).round(0).cast("int64")
    whole = (tenths // 10).cast("int64").cast("string")
    frac = (tenths % 10).cast("int64").cast("string")
    return whole + "." + frac


def _plural(n: ir.NumericValue, word: str) -> ir.StringValue:
    """``"3 weeks"`` / ``"1 week"`` from a number rounded to an integer."""
    rounded = n.round(0).cast("int64")
    return _int_str(n) + ibis.ifelse(rounded == 1, f" {word}", f" {word}s")


def _rank_phrase(decile: ir.IntegerValue) -> ir.StringValue:
    words = [(decile == d, ibis.literal(f"top {d * 10}% by value" if d <= 5
                                        else f"bottom {(11 - d) * 10}% by value"))
             for d in range(1, 11)]
    return ibis.cases(*words, else_=ibis.literal("unranked"))


def _cadence_phrase(frequency: ir.NumericValue, recency: ir.NumericValue,
                    unit_days: float) -> ir.StringValue:
    gap_days = recency * unit_days / ibis.ifelse(frequency > 0, frequency, 1)
    return ibis.cases(
        (frequency <= 0, ibis.literal("bought once so far")),
        (gap_days < 1.5, ibis.literal("buys almost daily")),
        (gap_days < 14, "buys every " + _plural(gap_days, "day")),
        (gap_days < 63, "buys every " + _plural(gap_days / 7, "week")),
        else_="buys every " + _plural(gap_days / 30.44, "month"),
    )


def _last_seen_phrase(days_ago: ir.NumericValue) -> ir.StringValue:
    return ibis.cases(
        (days_ago < 0.5, ibis.literal("last seen today")),
        (days_ago < 1.5, ibis.literal("last seen yesterday")),
        (days_ago < 60, "last seen " + _plural(days_ago, "day") + " ago"),
        (days_ago < 730, "last seen " + _plural(days_ago / 30.44, "month") + " ago"),
        else_="last seen " + _plural(days_ago / 365.25, "year") + " ago",
    )


def history_phrases(
    t: ir.Table, *, time_unit: str = "weeks", horizon_weeks: float = 52
) -> dict[str, ir.StringValue]:
    """The parts of a reason that depend only on ``(frequency, recency, T)`` and the model.

    Scoring computes them once per *distinct* history row (in the engine),
    and :func:`assemble_reason` adds the per-customer parts (rank, spend).

    Returns
    -------
    dict
        ``cadence`` (e.g. ``"buys every 3 weeks"``) and ``tail`` (e.g.
        ``", last seen 5 days ago, 92% likely still active, ~4.2 purchases
        expected in 52 weeks"``).

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"frequency": [12.0], "recency": [36.0], "T": [36.7],
    ...                    "prob_alive": [0.92], "expected_purchases": [4.2]})
    >>> t.select(**history_phrases(t)).execute().loc[0, "cadence"]
    'buys every 3 weeks'
    """
    unit_days = days_per_unit(time_unit)
    days_ago = ((t.T - t.recency) * unit_days).cast("float64")
    # an empty P(alive): the model cannot tell for this history (BG/NBD, one purchase only)
    alive = t.prob_alive.cast("float64")
    # a model estimate is never a certainty: the ends read "over 99%" and "under 1%"
    active = ibis.cases(
        (alive.isnull(), ibis.literal("too little history to tell if still active")),
        (alive >= 0.995, ibis.literal("over 99% likely still active")),
        (alive < 0.005, ibis.literal("under 1% likely still active")),
        else_=_int_str(alive * 100) + "% likely still active")
    expected = (
        "~" + _one_decimal_str(t.expected_purchases.cast("float64").fill_null(0))
        + f" purchases expected in {_horizon_words(horizon_weeks)}"
    )
    return {
        "cadence": _cadence_phrase(t.frequency.cast("float64"), t.recency.cast("float64"),
                                   unit_days),
        "tail": ", " + _last_seen_phrase(days_ago) + ", " + active + ", " + expected,
    }


def assemble_reason(
    t: ir.Table, *, cadence: ir.StringValue, tail: ir.StringValue, currency: str = "$"
) -> ir.StringValue:
    """Rank phrase + cadence + average order + tail, for each customer row of *t*.

    *t* needs ``frequency``, ``monetary_value`` and ``value_decile``; one
    number is formatted per customer, the rest comes from *cadence* and *tail*.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"frequency": [12.0], "monetary_value": [84.2], "value_decile": [1]})
    >>> r = assemble_reason(t, cadence=ibis.literal("buys every 3 weeks"), tail=ibis.literal(""))
    >>> t.select(r=r).execute().loc[0, "r"]
    'top 10% by value: buys every 3 weeks, average order $84'
    """
    money = t.monetary_value.cast("float64")
    spend = ibis.ifelse(
        (t.frequency > 0) & money.notnull() & (money > 0),
        ", average order " + currency + _int_str(money.fill_null(0)),
        "",
    )
    return _rank_phrase(t.value_decile.cast("int64")) + ": " + cadence + spend + tail


def reason_expr(
    t: ir.Table,
    *,
    time_unit: str = "weeks",
    horizon_weeks: float = 52,
    currency: str = "$",
) -> ir.StringValue:
    """The plain-words reason for each row of a scored customer table.

    Parameters
    ----------
    t
        A table with ``frequency``, ``recency``, ``T``, ``monetary_value``,
        ``prob_alive``, ``expected_purchases`` and ``value_decile`` (1 = top).
    time_unit
        Unit of ``recency`` and ``T`` ("weeks" or "days").
    horizon_weeks
        The horizon ``expected_purchases`` refers to.
    currency
        Symbol put before money amounts.

    Returns
    -------
    ibis string expression
        e.g. ``"top 10% by value: buys every 3 weeks, average order $84, last
        seen 5 days ago, 92% likely still active, ~4.2 purchases expected in
        52 weeks"``.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"frequency": [0.0], "recency": [0.0], "T": [2.0],
    ...                    "monetary_value": [0.0], "prob_alive": [0.7],
    ...                    "expected_purchases": [0.5], "value_decile": [10]})
    >>> print(t.select(r=reason_expr(t)).execute().loc[0, "r"])  # one line, wrapped here
    bottom 10% by value: bought once so far, last seen 14 days ago,
    70% likely still active, ~0.5 purchases expected in 52 weeks
    """
    parts = history_phrases(t, time_unit=time_unit, horizon_weeks=horizon_weeks)
    return assemble_reason(t, cadence=parts["cadence"], tail=parts["tail"], currency=currency)


def _horizon_words(weeks: Any) -> str:
    w = float(weeks)
    return f"{int(w)} weeks" if w.is_integer() else f"{w:g} weeks"
