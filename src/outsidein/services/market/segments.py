"""``outsidein market segments``: stratify the customers, cross them with product types and
availability, and keep the result.

:func:`run_segments` (also the pipeline step ``market_segments``):

1. builds the orders with their stock-out and slow-delivery flags, RFM scores and named
   segments, and the clustering features, in the warehouse
   (:mod:`outsidein.services.market.segments_data`);
2. fits :class:`outsidein.market.BehaviourClusters` on a systematic sample (every n-th
   customer by id, at most :data:`SAMPLE` customers; k by silhouette) and assigns every
   customer to a cluster inside the warehouse; each cluster gets a profile in words;
3. writes ``customer_segments`` (one row per customer: RFM, segment, cluster);
4. builds the segment x product-type matrix with its cross-sell gaps
   (:func:`outsidein.market.cross_sell_matrix`) and what stock-outs and slow deliveries
   cost (:class:`outsidein.market.AvailabilityEffect`), overall, by cause and per cluster;
5. saves it all in ``results/market_segments.json`` (:func:`read_segments` reads it back
   for the page, the report and the customer 360).

:meth:`SegmentsResult.insights` gives the findings for the departments (published by
:func:`outsidein.services.publish.publish_analysis_insights`).

>>> result = run_segments(ws)                          # doctest: +SKIP
>>> result.availability[0]["effect"]                   # doctest: +SKIP
0.49
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from outsidein.errors import DataValidationError, MissingDataError
from outsidein.market import AvailabilityEffect, BehaviourClusters, cross_sell_matrix
from outsidein.market.profiles import ClusterProfile, describe, short_name
from outsidein.market.rfm import RFM_SEGMENTS, segment_info
from outsidein.services.market import segments_data as sd
from outsidein.services.market.segments_words import segments_insights
from outsidein.services.progress import Steps
from outsidein.warehouse.schema import CHANNELS

if TYPE_CHECKING:
    from rich.progress import Progress

    from outsidein.warehouse.engine import Warehouse
    from outsidein.workspace import Workspace

__all__ = ["HOW_TO_SEGMENT", "NOT_TARGETED", "RESULT_FILE", "SAMPLE", "SEGMENTS_TABLE",
           "SLOW_DELIVERY_DAYS", "SegmentsResult", "customer_segment", "read_segments",
           "result_path", "run_segments", "save_segments"]

#: The warehouse table with each customer's RFM scores, segment and cluster.
SEGMENTS_TABLE = "customer_segments"
#: Where the last result lives, relative to the workspace folder.
RESULT_FILE = Path("results") / "market_segments.json"
#: At most this many customers are pulled to fit the clusters.
SAMPLE = 20_000
#: A delivery promised in at least this many days counts as slow (``[market]
#: slow_delivery_days`` in outsidein.toml overrides it).
SLOW_DELIVERY_DAYS = 7.0
#: Segments whose cross-sell gaps are not flagged: not worth a campaign (see rfm actions).
NOT_TARGETED = ("lost", "hibernating")
HOW_TO_SEGMENT = "run 'outsidein market segments' (or 'outsidein analyze')"
_SCRATCH = ("_oi_market_orders", "_oi_market_rfm", "_oi_market_features",
            "_oi_market_assign", "_oi_market_types")


@dataclass(frozen=True, repr=False)
class SegmentsResult:
    """Segments, clusters, the matrix and availability effects (see the module doc).

    >>> SegmentsResult(customers=10, k_choice={"k": 3})
    SegmentsResult(10 customers, 0 segments, 3 clusters, 0 matrix cells)
    >>> SegmentsResult(customers=1).to_pandas("clusters").empty
    True
    """

    customers: int
    segments: list[dict[str, Any]] = field(default_factory=list)
    clusters: list[dict[str, Any]] = field(default_factory=list)
    matrix: list[dict[str, Any]] = field(default_factory=list)
    availability: list[dict[str, Any]] = field(default_factory=list)
    k_choice: dict[str, Any] = field(default_factory=dict)
    slow_delivery_days: float = SLOW_DELIVERY_DAYS
    generated_at: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain values: the ``--json`` output and the saved file."""
        return asdict(self)

    def insights(self) -> list[dict[str, Any]]:
        """The findings for the departments (mappings of an insight draft's fields)."""
        return segments_insights(self.to_dict())

    def to_pandas(self, part: str = "segments") -> pd.DataFrame:
        """One part (``segments``, ``clusters``, ``matrix`` or ``availability``) as a frame."""
        if part not in ("segments", "clusters", "matrix", "availability"):
            raise DataValidationError(f"part {part!r}: expected segments, clusters, matrix or "
                                      "availability")
        return pd.DataFrame(getattr(self, part))

    def __repr__(self) -> str:
        used = sum(1 for s in self.segments if s.get("customers"))
        return (f"SegmentsResult({self.customers:,} customers, {used} segments, "
                f"{self.k_choice.get('k', 0)} clusters, {len(self.matrix)} matrix cells)")


def _slow_days(ws: Workspace) -> float:
    raw = (ws.config.extra.get("market") or {}).get("slow_delivery_days", SLOW_DELIVERY_DAYS)
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"outsidein.toml [market] slow_delivery_days: expected a "
                                  f"number of days, got {raw!r}") from exc
    if not value > 0:
        raise DataValidationError(f"outsidein.toml [market] slow_delivery_days: expected a "
                                  f"positive number of days, got {raw!r}")
    return value


def _optional(wh: Warehouse, name: str) -> Any:
    return None if wh.is_empty(name) else wh.table(name)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = json.loads(df.to_json(orient="records", double_precision=10))
    return [dict(r) for r in out]


def run_segments(ws: Workspace, progress: Progress | None = None, *,
                 k_range: tuple[int, int] = (3, 8), seed: int = 0) -> SegmentsResult:
    """Stratify the customers of *ws* and keep the result (see the module doc).

    Raises
    ------
    MissingDataError
        No order lines (or no customers) are loaded yet.
    """
    t0 = time.perf_counter()
    wh = ws.warehouse()
    if wh.is_empty("order_lines") or wh.is_empty("customers"):
        raise MissingDataError("market segments need order lines and customers; load them "
                               "with 'outsidein load order_lines FILE' (or run "
                               "'outsidein demo')")
    slow = _slow_days(ws)
    steps = Steps(progress, "market segments", 6)
    lines, customers = wh.table("order_lines"), wh.table("customers")
    products, interactions = _optional(wh, "products"), _optional(wh, "interactions")
    notes: list[str] = []
    try:
        steps("orders and stock-outs")
        avail = _optional(wh, "availability")
        if avail is None:
            notes.append("no availability loaded: stock-outs and slow deliveries cannot be "
                         "measured (load it with 'outsidein load availability FILE')")
        with wh.bulk_writes():
            o = wh.write_table(_SCRATCH[0], sd.orders(lines, customers, avail, slow_days=slow),
                               scratch=True)
            steps.done()
            steps("RFM scores")
            end = sd.data_end(o)
            ct = wh.write_table(_SCRATCH[4], sd.type_sums(lines, products), scratch=True)
            r = wh.write_table(_SCRATCH[1], sd.rfm(o, ct, end), scratch=True)
            steps.done()
            steps("behavioural clusters")
            types = sd.product_types(ct) if products is not None else []
            names = sd.feature_names(types)
            f = wh.write_table(_SCRATCH[2], sd.features(r, ct, customers, interactions, types),
                               scratch=True)
            n_customers = int(f.count().to_pyarrow().as_py())
            model = BehaviourClusters(k_range=k_range, random_state=seed).fit(
                _sample(f, names, n_customers).to_numpy(dtype=float), names)
            assign = wh.write_table(_SCRATCH[3], sd.assign_clusters(
                f, names, model.mean_.tolist(), model.scale_.tolist(), model.centers_.tolist()),
                scratch=True)
            clusters = _profiles(f.join(assign, "customer_id"), model, types)
            steps.done()
            steps("customer_segments")
            seg = _write_segments(wh, r, assign, clusters)
            segments = _segment_rows(seg)
            steps.done()
            steps("segment x product type")
            matrix: list[dict[str, Any]] = []
            if products is not None:
                cells, groups = sd.matrix_cells(ct, seg)
                m = cross_sell_matrix(cells.to_pandas(), groups.to_pandas(),
                                      not_targeted=NOT_TARGETED)
                m["segment_label"] = m["segment"].map(lambda k: segment_info(k).label)
                matrix = _records(m)
            steps.done()
            steps("availability effects")
            availability = (_availability(o, seg, interactions, clusters, end)
                            if avail is not None else [])
            steps.done()
    finally:
        wh.drop_tables(*_SCRATCH)
    result = SegmentsResult(
        customers=n_customers, segments=segments, clusters=clusters, matrix=matrix,
        availability=availability,
        k_choice={"criterion": "mean silhouette of k-means on a sample (highest wins)",
                  "k": model.k_, "scores": {str(k): v for k, v in model.silhouettes_.items()},
                  "features": names, "sample": int(min(n_customers, SAMPLE))},
        slow_delivery_days=slow, generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - t0, 2), notes=notes)
    save_segments(ws, result)
    return result


def _sample(f: Any, names: list[str], n: int) -> pd.DataFrame:
    """Every ``step``-th customer by id: the same customers on every engine."""
    step = max(1, math.ceil(n / SAMPLE))
    x = f.mutate(_rn=ibis.row_number().over(order_by="customer_id"))
    x = x.filter(x._rn % step == 0)
    return x.order_by("customer_id").select(*names).to_pandas()


def _profiles(fc: Any, model: BehaviourClusters, types: list[str]) -> list[dict[str, Any]]:
    """Each cluster's size, mean figures and profile in words."""
    aggs: dict[str, Any] = {
        "customers": fc.count(), "revenue": fc.revenue.mean(),
        "revenue_total": fc.revenue.sum(), "orders_per_year": fc.orders_per_year.mean(),
        "contacts": fc.contacts.mean(), "business_share": fc.business.mean()}
    for i, t in enumerate(types):
        aggs[f"t{i}"] = fc[f"type:{t}"].mean()
    for i, c in enumerate(CHANNELS):
        aggs[f"c{i}"] = fc[f"channel:{c}"].mean()
    per = fc.group_by("cluster").aggregate(**aggs).to_pandas().sort_values("cluster")
    overall = fc.aggregate(**aggs).to_pandas().iloc[0]

    def profile(row: Any) -> ClusterProfile:
        return ClusterProfile(
            customers=int(row["customers"]), revenue=float(row["revenue"] or 0),
            orders_per_year=float(row["orders_per_year"] or 0),
            type_share={t: float(row[f"t{i}"] or 0) for i, t in enumerate(types)},
            channel_share={c: float(row[f"c{i}"] or 0) for i, c in enumerate(CHANNELS)},
            contacts=float(row["contacts"] or 0),
            business_share=float(row["business_share"] or 0))

    base = profile(overall)
    total = max(int(overall["customers"]), 1)
    out = []
    for _, row in per.iterrows():
        p = profile(row)
        out.append({"cluster": int(row["cluster"]), "name": short_name(p, base),
                    "profile": describe(p, base), "customers": p.customers,
                    "share": p.customers / total, "revenue": float(row["revenue_total"] or 0),
                    "revenue_per_customer": p.revenue, "orders_per_year": p.orders_per_year,
                    "service_contacts": p.contacts, "business_share": p.business_share,
                    "type_share": dict(p.type_share), "channel_share": dict(p.channel_share)})
    _dedupe_names(out)
    return out


def _dedupe_names(clusters: list[dict[str, Any]]) -> None:
    seen: dict[str, int] = {}
    for c in clusters:
        seen[c["name"]] = seen.get(c["name"], 0) + 1
        if seen[c["name"]] > 1:
            c["name"] = f"{c['name']} ({seen[c['name']]})"


def _write_segments(wh: Warehouse, r: Any, assign: Any,
                    clusters: list[dict[str, Any]]) -> Any:
    names = ibis.cases(*[(assign.cluster == c["cluster"], c["name"]) for c in clusters],
                       else_="")
    a = assign.mutate(cluster_name=names)
    labels = ibis.cases(*[(r.segment == s.key, s.label) for s in RFM_SEGMENTS], else_="")
    j = r.mutate(segment_label=labels).join(a, "customer_id")
    seg = j.select("customer_id", "segment", "segment_label", "rfm", "r_score", "f_score",
                   "m_score", "recency_days", "orders", "monetary", "cluster", "cluster_name")
    return wh.write_table(SEGMENTS_TABLE, seg)


def _segment_rows(seg: Any) -> list[dict[str, Any]]:
    per = seg.group_by("segment").aggregate(
        customers=seg.count(), revenue=seg.monetary.sum(),
        recency_days=seg.recency_days.mean(), orders=seg.orders.mean()).to_pandas()
    total_c = max(int(per["customers"].sum()), 1)
    total_r = float(per["revenue"].sum()) or 1.0
    by_key = {str(r["segment"]): r for _, r in per.iterrows()}
    out = []
    for s in RFM_SEGMENTS:
        row = by_key.get(s.key)
        n = int(row["customers"]) if row is not None else 0
        rev = float(row["revenue"]) if row is not None else 0.0
        out.append({"key": s.key, "name": s.label, "customers": n, "share": n / total_c,
                    "revenue": round(rev, 2), "revenue_share": rev / total_r,
                    "revenue_per_customer": rev / n if n else None,
                    "recency_days": float(row["recency_days"]) if row is not None else None,
                    "orders": float(row["orders"]) if row is not None else None,
                    "description": s.description, "action": s.action})
    return out


def _availability(o: Any, seg: Any, interactions: Any, clusters: list[dict[str, Any]],
                  end: int) -> list[dict[str, Any]]:
    sums = sd.availability_sums(o, seg, interactions, end).to_pandas()
    sums["stratum"] = _stratum_labels(sums)
    treated, control = sums[sums["treated"]], sums[~sums["treated"]]
    names = {c["cluster"]: c["name"] for c in clusters}
    out: list[dict[str, Any]] = []
    for outcome, label in (("orders", "repeat purchases"), ("complaints", "complaints")):
        ctrl = _stratum_sums(control, outcome, ["stratum"])
        overall = _stratum_sums(treated, outcome, ["stratum"]).assign(group="all customers")
        cause = _stratum_sums(treated, outcome, ["cause", "stratum"])
        cause = cause.rename(columns={"cause": "group"})
        fit = AvailabilityEffect().fit(pd.concat([overall, cause], ignore_index=True), ctrl)
        per_ctrl = _stratum_sums(control, outcome, ["cluster", "stratum"])
        per_tr = _stratum_sums(treated, outcome, ["cluster", "stratum"])
        for d in (per_ctrl, per_tr):
            d["stratum"] = d["cluster"].astype(str) + "/" + d["stratum"]
        per_tr["group"] = per_tr["cluster"].map(lambda c: names.get(int(c), "(none)"))
        per_fit = AvailabilityEffect().fit(per_tr, per_ctrl)
        for kind, eff in (("overall", fit.effects_), ("cluster", per_fit.effects_)):
            for rec in _records(eff):
                if kind == "overall" and rec["group"] != "all customers":
                    kind_ = "cause"
                else:
                    kind_ = kind
                out.append({"segment": rec.pop("group"), "grouping": kind_, "outcome": label,
                            **rec})
    order = {"overall": 0, "cause": 1, "cluster": 2}
    out.sort(key=lambda r: (r["outcome"] != "repeat purchases", order[r["grouping"]],
                            -(r["customers"] or 0)))
    return out


def _stratum_labels(sums: pd.DataFrame) -> pd.Series:
    """``region|year-month|orders before|tenure`` for each row of the availability sums."""
    prior = np.asarray(sd.PRIOR_BANDS, dtype=object)[sums["prior"].to_numpy(dtype="int64")]
    tenure = np.asarray(sd.TENURE_BANDS, dtype=object)[sums["tenure"].to_numpy(dtype="int64")]
    return (sums["region"].astype(str) + "|" + sums["year"].astype(str) + "-"
            + sums["month"].astype(str) + "|" + prior + "|" + tenure)


def _stratum_sums(rows: pd.DataFrame, outcome: str, keys: list[str]) -> pd.DataFrame:
    """Per *keys*: customers and *outcome*'s sums (:data:`AvailabilityEffect` columns).

    The rows are already per customer within (side, cause, cluster, stratum), and a customer
    has one cluster and, when treated, one cause, so summing them is summing per customer.
    """
    cols = {"customers": "customers", f"{outcome}_count": "count", "exposure": "exposure",
            f"{outcome}_count_sq": "count_sq", f"{outcome}_count_exposure": "count_exposure",
            "exposure_sq": "exposure_sq"}
    g = rows.groupby(keys, as_index=False, sort=True)[list(cols)].sum()
    return g.rename(columns=cols)


def customer_segment(ws: Workspace, customer_id: str) -> dict[str, Any] | None:
    """One customer's row of ``customer_segments`` with the segment's and cluster's words.

    None when segments have not been computed or the customer has none (no purchase).
    """
    with ws.reader(missing_ok=True) as con:
        if con is None or SEGMENTS_TABLE not in con.list_tables():
            return None
        t = con.table(SEGMENTS_TABLE)
        rows = t.filter(t.customer_id.cast("string") == customer_id).limit(1) \
            .to_pyarrow().to_pylist()
    if not rows:
        return None
    row = dict(rows[0])
    try:
        info = segment_info(str(row["segment"]))
    except KeyError:
        info = None
    result = read_segments(ws)
    profile = next((c["profile"] for c in (result.clusters if result else [])
                    if c["cluster"] == row.get("cluster")), None)
    return {**row, "segment_description": info.description if info else None,
            "segment_action": info.action if info else None, "cluster_profile": profile}


def result_path(ws: Workspace) -> Path:
    """``<workspace>/results/market_segments.json``."""
    return ws.root / RESULT_FILE


def save_segments(ws: Workspace, result: SegmentsResult) -> Path:
    """Keep *result* atomically: a reader never sees half a file."""
    path = result_path(ws)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_plain(result.to_dict()), indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


def _plain(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _plain(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_plain(v) for v in o]
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def read_segments(ws: Workspace) -> SegmentsResult | None:
    """The last saved result, or None (never run, or a file not in its layout)."""
    try:
        doc = json.loads(result_path(ws).read_text(encoding="utf-8"))
        return SegmentsResult(**doc)
    except (OSError, ValueError, TypeError):
        return None
