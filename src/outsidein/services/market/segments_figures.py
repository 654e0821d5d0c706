"""Plotly figures (plain dicts) of a segments result, shared by the Market page and the report.

* :func:`segments_figure` - customers and revenue share of each RFM segment;
* :func:`matrix_figure` - penetration of each product type in each segment (a heat map),
  cross-sell gaps marked;
* :func:`availability_figure` - each availability effect with its 95% interval (a forest
  plot on a log axis, 1.0 = no effect).

>>> doc = {"segments": [{"name": "Champions", "customers": 5, "share": 0.5,
...                      "revenue_share": 0.8}]}
>>> segments_figure(doc)["data"][0]["x"]
['Champions']
"""

from __future__ import annotations

from typing import Any

__all__ = ["availability_figure", "matrix_figure", "segments_figure"]


def segments_figure(doc: dict[str, Any]) -> dict[str, Any]:
    """Share of customers and share of revenue per RFM segment, side by side."""
    segs = [s for s in doc.get("segments") or [] if s.get("customers")]
    names = [s["name"] for s in segs]
    return {"data": [
        {"type": "bar", "name": "customers", "x": names, "y": [s["share"] for s in segs],
         "marker": {"color": "#6e7781"},
         "hovertemplate": "%{x}: %{y:.0%} of customers<extra></extra>"},
        {"type": "bar", "name": "revenue", "x": names, "y": [s["revenue_share"] for s in segs],
         "marker": {"color": "#1f6feb"},
         "hovertemplate": "%{x}: %{y:.0%} of revenue<extra></extra>"}],
        "layout": {"title": {"text": "Share of customers and of revenue per segment"},
                   "barmode": "group", "yaxis": {"tickformat": ".0%", "rangemode": "tozero"},
                   "legend": {"orientation": "h", "y": -0.3}, "height": 360,
                   "margin": {"t": 50, "l": 50, "r": 20, "b": 90}}}


def matrix_figure(doc: dict[str, Any]) -> dict[str, Any]:
    """Penetration per (segment, product type); gap cells carry a marker in their text.

    >>> m = {"matrix": [{"segment_label": "Loyal", "product_type": "tools", "penetration": 0.4,
    ...                  "expected_penetration": 0.5, "cross_sell_gap": True,
    ...                  "revenue": 10.0, "margin_rate": 0.3}]}
    >>> matrix_figure(m)["data"][0]["text"]
    [['40% (gap: 50%)']]
    """
    cells = doc.get("matrix") or []
    segs = list(dict.fromkeys(c["segment_label"] for c in cells))
    types = sorted({str(c["product_type"]) for c in cells})
    at = {(c["segment_label"], str(c["product_type"])): c for c in cells}
    z, text = [], []
    for s in segs:
        zr, tr = [], []
        for t in types:
            c = at.get((s, t))
            pen = c.get("penetration") if c else None
            zr.append(pen)
            label = "" if pen is None else f"{pen:.0%}"
            if c and c.get("cross_sell_gap"):
                label += f" (gap: {c['expected_penetration']:.0%})"
            tr.append(label)
        z.append(zr)
        text.append(tr)
    return {"data": [{"type": "heatmap", "z": z, "x": [t.replace("_", " ") for t in types],
                      "y": segs, "text": text, "texttemplate": "%{text}",
                      "colorscale": "Blues", "zmin": 0, "zmax": 1,
                      "colorbar": {"title": {"text": "buy it"}, "tickformat": ".0%"},
                      "hovertemplate": "%{y} x %{x}: %{z:.0%} buy it<extra></extra>"}],
            "layout": {"title": {"text": "Share of each segment buying each product type"},
                       "yaxis": {"autorange": "reversed", "automargin": True},
                       "xaxis": {"automargin": True}, "height": 120 + 36 * max(len(segs), 1),
                       "margin": {"t": 50, "l": 20, "r": 20, "b": 80}}}


def availability_figure(doc: dict[str, Any], outcome: str = "repeat purchases",
                        ) -> dict[str, Any]:
    """Rate ratio and interval of each group hit by stock-outs or slow deliveries.

    >>> a = {"availability": [{"segment": "all customers", "outcome": "repeat purchases",
    ...      "effect": 0.5, "ci_low": 0.4, "ci_high": 0.6, "customers": 9}]}
    >>> availability_figure(a)["data"][0]["x"]
    [0.5]
    """
    rows = [r for r in doc.get("availability") or []
            if r.get("outcome") == outcome and r.get("effect") is not None]
    labels = [f"{r['segment']} ({int(r['customers']):,})" for r in rows]
    return {"data": [{"type": "scatter", "mode": "markers", "x": [r["effect"] for r in rows],
                      "y": labels, "marker": {"color": "#d1242f", "size": 9},
                      "error_x": {"type": "data", "symmetric": False,
                                  "array": [r["ci_high"] - r["effect"] for r in rows],
                                  "arrayminus": [r["effect"] - r["ci_low"] for r in rows]},
                      "hovertemplate": "%{y}: %{x:.2f}<extra></extra>"}],
            "layout": {"title": {"text": f"{outcome.capitalize()} of hit customers against "
                                         "comparable customers (1 = no effect)"},
                       "xaxis": {"type": "log", "title": {"text": "rate ratio (95% interval)"}},
                       "yaxis": {"autorange": "reversed", "automargin": True},
                       "shapes": [{"type": "line", "x0": 1, "x1": 1, "yref": "paper",
                                   "y0": 0, "y1": 1, "line": {"dash": "dot",
                                                             "color": "#6e7781"}}],
                       "height": 140 + 32 * max(len(rows), 1),
                       "margin": {"t": 50, "l": 20, "r": 20, "b": 50}}}
