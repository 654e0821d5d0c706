"""Culture scores against the company's own customer KPIs in the warehouse.

Where the warehouse holds the company's customers and orders, :func:`kpi_links` sets the
culture scores of the workspace's own organisation (``[culture] org`` in outsidein.toml, else
the first organisation added that answered, as on the Culture page) against customer KPIs
measured in the period **after** each wave closed:

(a) **waves**: the organisation's score in each closed wave against the KPI of all its
    customers in the ``days`` days after the wave closed (from the day after ``closed_at``);
(b) **departments**: each department mapped to a slice of customers in
    ``[culture.kpi_links.departments]``: its score in each closed wave against its slice's
    KPI in the same period, one point per department and wave.

The KPIs, of a period's buyers (customers with a purchase in it, returns excluded):

===============  ==============================================================================
``repeat_rate``  the share who bought on two days or more in the period
``clv``          their average predicted lifetime value (table ``customer_value``, made by
                 ``outsidein value score``: today's prediction, not the one of that period)
``nps``          promoters (9-10) minus detractors (0-6) per 100 of those who gave an answer
                 (``customers.nps``: each customer's last answer, undated, as the market watch
                 reads it)
===============  ==============================================================================

Rules (the regression and its wording are the engine's
:func:`outsidein.culture.links.kpi_link`):

- a wave still open, or whose period is not over in the warehouse (it ends after the last
  order) or starts before the first order, is left out, with a note;
- a KPI value resting on fewer than ``min_customers`` customers (buyers, or NPS answers) is
  shown but not used;
- department scores come through :func:`outsidein.services.culture.groups.group_scores`, the
  one anonymity door: a department of fewer than 5 respondents, or hidden by complementary
  suppression, has no score here either and is no point of the regression.

Settings (all optional but the mapping, which (b) needs)::

    [culture.kpi_links]
    days = 90                      # the period after a wave closes
    score = "market_orientation"   # the culture score set against the KPIs
    min_customers = 20
    [culture.kpi_links.departments]
    Sales = { region = "north" }   # column = value of table customers; several are all true
    "Key accounts" = { acquisition_channel = "trade_show" }

>>> kpi_link_settings({"culture": {"kpi_links": {"days": 60,
...     "departments": {"Sales": {"region": "north"}}}}}).departments
{'Sales': {'region': 'north'}}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd
from ibis import _

from outsidein.culture.links import MIN_KPI_POINTS, LinkResult, kpi_link
from outsidein.culture.scoring import score_respondents
from outsidein.domain import purchases
from outsidein.errors import ConfigError, NotFoundError
from outsidein.services.culture.groups import RULES, group_scores
from outsidein.services.culture.responses import wave_instrument, wave_responses
from outsidein.services.culture.views import focal_org, responses_by_org
from outsidein.services.culture.waves import WaveInfo, list_waves
from outsidein.store.db import session_scope

if TYPE_CHECKING:
    from outsidein.workspace import Workspace

__all__ = ["ALL_CUSTOMERS", "CLV_TABLE", "KPIS", "KpiLinkSettings", "KpiLinks", "kpi_display",
           "kpi_link_settings", "kpi_links", "slice_label", "window_kpis"]

#: The KPIs related, key -> (title, unit of the words: "%" a share, "$", "points").
KPIS: dict[str, tuple[str, str]] = {"repeat_rate": ("repeat rate", "%"),
                                    "clv": ("CLV", "$"), "nps": ("NPS", "points")}
#: The customer-value table (``services.value.scoring.CUSTOMER_VALUE``; the services-layers
#: contract keeps culture from importing value, and a test checks the two names agree).
CLV_TABLE = "customer_value"
_KEYS = {"days", "score", "min_customers", "departments"}
NO_ORDERS = ("No customer KPIs: the warehouse has no orders yet (load order_lines and "
             "customers, or run 'outsidein demo').")
#: The slice of every customer (the waves' KPIs); department names are the other slices.
ALL_CUSTOMERS = "(all customers)"


@dataclass(frozen=True)
class KpiLinkSettings:
    """``[culture.kpi_links]`` of outsidein.toml (see the module doc)."""

    days: int = 90
    score: str = "market_orientation"
    min_customers: int = 20
    departments: dict[str, dict[str, str]] = field(default_factory=dict)


def kpi_link_settings(extra: Mapping[str, Any]) -> KpiLinkSettings:
    """The settings, checked; :class:`ConfigError` naming the key that is wrong."""
    raw = (extra.get("culture") or {}).get("kpi_links") or {}
    where = "outsidein.toml [culture.kpi_links]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a section")
    unknown = set(raw) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: "
                          f"{', '.join(sorted(_KEYS))}")
    days, least = raw.get("days", 90), raw.get("min_customers", 20)
    for key, v, lo in (("days", days, 7), ("min_customers", least, 1)):
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            raise ConfigError(f"{where}: {key} is a whole number of at least {lo}, got {v!r}")
    score = raw.get("score", "market_orientation")
    if not isinstance(score, str):
        raise ConfigError(f"{where}: score is a score column such as \"market_orientation\"")
    deps = raw.get("departments") or {}
    if not isinstance(deps, Mapping):
        raise ConfigError(f"{where}.departments: expected NAME = {{ column = \"value\" }}")
    mapping: dict[str, dict[str, str]] = {}
    for name, spec in deps.items():
        if (not isinstance(spec, Mapping) or not spec
                or not all(isinstance(v, str | int) for v in spec.values())):
            raise ConfigError(f"{where}.departments: {name!r} needs a slice of customers such "
                              f"as {{ region = \"north\" }}, got {spec!r}")
        mapping[str(name)] = {str(k): str(v) for k, v in spec.items()}
    return KpiLinkSettings(days, score, least, mapping)


def slice_label(where: Mapping[str, str]) -> str:
    """``region=north, channel=web`` (``all customers`` for no condition).

    >>> slice_label({"region": "north"}), slice_label({})
    ('region=north', 'all customers')
    """
    return ", ".join(f"{k}={v}" for k, v in where.items()) or "all customers"


def _num(v: Any, digits: int = 4) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else \
        round(float(v), digits)


def window_kpis(con: Any, windows: Mapping[str, tuple[date, date]],
                slices: Mapping[str, Mapping[str, str]]
                ) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """The KPIs of each slice's customers who bought in each window (from its first day up
    to its second, excluded), in one warehouse query: ``{(window, slice): {kpi: {"value",
    "customers"}}}``, only the KPIs the warehouse can give.  A slice is a mapping of customer
    column to value (empty: every customer)."""
    if not windows or not slices:
        return {}
    wins = ibis.memtable(pd.DataFrame({
        "window": list(windows), "lo": pd.to_datetime([w[0] for w in windows.values()]),
        "hi": pd.to_datetime([w[1] for w in windows.values()])}))
    wins = wins.select("window", lo=wins.lo.date(), hi=wins.hi.date())
    lines = purchases(con.table("order_lines"))
    days = lines.select("customer_id", day=lines.ts.date()).distinct()
    j = days.join(wins, (days.day >= wins.lo) & (days.day < wins.hi))
    buyers = j.group_by(["window", "customer_id"]).aggregate(n_days=_.day.count())
    cust = con.table("customers")
    has_nps = "nps" in cust.columns
    parts = []
    for key, where in slices.items():
        c = cust
        for col, val in where.items():
            c = c.filter(c[col].cast("string") == val)
        parts.append(c.select("customer_id", *(["nps"] if has_nps else []),
                              slice=ibis.literal(key)))
    members = parts[0].union(*parts[1:], distinct=False) if len(parts) > 1 else parts[0]
    b = buyers.join(members, "customer_id")
    has_clv = (CLV_TABLE in con.list_tables()
               and {"customer_id", "clv"} <= set(con.table(CLV_TABLE).columns))
    if has_clv:
        cv = con.table(CLV_TABLE)
        cv = cv.select(cv_id=cv.customer_id, clv_value=cv.clv.cast("float64"))
        b = b.left_join(cv, b.customer_id == cv.cv_id)
    aggs: dict[str, Any] = {"buyers": b.count(), "repeat": (b.n_days >= 2).cast("int64").sum()}
    if has_nps:
        aggs["answers"] = b.nps.notnull().cast("int64").sum()
        aggs["score"] = ((b.nps >= 9).cast("int64") - (b.nps <= 6).cast("int64")).sum()
    if has_clv:
        aggs["valued"] = b.clv_value.count()
        aggs["clv"] = b.clv_value.mean()
    rows = b.group_by(["window", "slice"]).aggregate(**aggs).execute()
    out: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for w in windows:  # a slice with no buyer in a window has none of its KPIs
        for k in slices:
            out[(w, k)] = {"repeat_rate": {"value": None, "customers": 0}}
            if has_clv:
                out[(w, k)]["clv"] = {"value": None, "customers": 0}
            if has_nps:
                out[(w, k)]["nps"] = {"value": None, "customers": 0}
    for r in rows.to_dict(orient="records"):
        n = int(r["buyers"] or 0)
        kp = out[(str(r["window"]), str(r["slice"]))]
        kp["repeat_rate"] = {"value": _num(r["repeat"] / n) if n else None, "customers": n}
        if has_clv:
            kp["clv"] = {"value": _num(r["clv"], 2), "customers": int(r["valued"] or 0)}
        if has_nps:
            said = int(r["answers"] or 0)
            kp["nps"] = {"value": _num(100 * r["score"] / said, 2) if said else None,
                         "customers": said}
    for kp in out.values():
        for key, v in kp.items():
            v["display"] = kpi_display(key, v["value"])
    return out


def kpi_display(key: str, value: float | None) -> str:
    """A KPI's value as people read it (what the CLI, the page and the report show).

    >>> kpi_display("repeat_rate", 0.5446), kpi_display("clv", 1234.5), kpi_display("nps", -12.7)
    ('54.5%', '$1,234', '-13')
    """
    if value is None:
        return "–"
    unit = KPIS[key][1]
    if unit == "%":
        return f"{100 * value:.1f}%"
    if unit == "$":
        return f"${value:,.0f}"
    return f"{value:+.0f}" if value else "0"


@dataclass
class KpiLinks:
    """Culture scores and the KPIs after each wave, and the links found (see the module doc)."""

    org: str | None = None
    days: int = 90
    score: str = "market_orientation"
    min_customers: int = 20
    waves: list[dict[str, Any]] = field(default_factory=list)
    departments: list[dict[str, Any]] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    wave_links: dict[str, LinkResult] = field(default_factory=dict)
    department_links: dict[str, LinkResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        """Each link in a sentence, waves first."""
        return [r.words for r in (*self.wave_links.values(), *self.department_links.values())]

    def to_dict(self) -> dict[str, Any]:
        return {"org": self.org, "days": self.days, "score": self.score,
                "min_customers": self.min_customers, "min_points": MIN_KPI_POINTS,
                "waves": {"points": self.waves,
                          "links": {k: r.to_dict() for k, r in self.wave_links.items()}},
                "departments": {"mapping": self.mapping, "points": self.departments,
                                "links": {k: r.to_dict()
                                          for k, r in self.department_links.items()}},
                "notes": self.notes}


def _waves_upto(ws: Workspace, upto: str | None) -> list[WaveInfo]:
    with session_scope(ws.store_url, write=False) as s:
        waves = [w for w in list_waves(s) if w.responses]
    if upto is None:
        return waves
    names = [w.name for w in waves]
    if upto not in names:
        raise NotFoundError(f"wave {upto!r} has no responses; with responses: "
                            f"{', '.join(names) or 'none'}")
    return waves[:names.index(upto) + 1]


def _scores(ws: Workspace, waves: list[WaveInfo], org: str, score: str,
            departments: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per closed wave: the organisation's score; per mapped department and wave: its score,
    both through the anonymity door."""
    wanted = {d.lower(): d for d in departments}
    org_points, dep_points = [], []
    with session_scope(ws.store_url, write=False) as s:
        for w in waves:
            row, frame = wave_responses(s, w.id)
            inst = wave_instrument(row)
            if score not in inst.score_columns:
                raise ConfigError(f"outsidein.toml [culture.kpi_links]: score {score!r} is not "
                                  f"a score of wave {w.name!r}; one of "
                                  f"{', '.join(inst.score_columns)}")
            table = group_scores(score_respondents(frame, inst), [score])
            mine = table[table["org"] == org]
            if mine.empty:
                continue
            closed = w.closed_at[:10] if w.status == "closed" and w.closed_at else None
            top = mine[mine["dimension"] == "all"].iloc[0]
            org_points.append({"wave": w.name, "closed": closed, "n": int(top["n"]),
                               "shown": bool(top["show_score"]), "reason": str(top["reason"]),
                               "score": _num(top[score], 2) if top["show_score"] else None})
            for r in mine[mine["dimension"] == "department"].to_dict(orient="records"):
                key = wanted.get(str(r["group"]).lower())
                if key is None:
                    continue
                dep_points.append({"department": str(r["group"]), "key": key, "wave": w.name,
                                   "closed": closed, "n": int(r["n"]),
                                   "shown": bool(r["show_score"]), "reason": str(r["reason"]),
                                   "score": _num(r[score], 2) if r["show_score"] else None})
    return org_points, dep_points


def _window(closed: str, days: int) -> tuple[date, date]:
    lo = date.fromisoformat(closed) + timedelta(days=1)
    return lo, lo + timedelta(days=days)


def _links(points: list[dict[str, Any]], score: str, unit: str,
           least: int) -> dict[str, LinkResult]:
    rows = [{score: p["score"], **{k: (v["value"] if v["customers"] >= least else None)
                                   for k, v in p.get("kpis", {}).items()}}
            for p in points if p.get("kpis")]
    table = pd.DataFrame(rows, columns=[score, *KPIS], dtype=float)
    found = {k for p in points for k in p.get("kpis", {})}
    return {k: kpi_link(table, score, k, unit=unit, y_title=title, y_unit=u)
            for k, (title, u) in KPIS.items() if k in found}


#: Results already computed, by store, arguments, settings, the state of every wave and the
#: DuckDB warehouse file's (a new response, a closed wave or a load makes a new key).
_CACHE: dict[tuple[Any, ...], KpiLinks] = {}
_CACHE_MAX = 16


def kpi_links(ws: Workspace, *, upto: str | None = None, org: str | None = None) -> KpiLinks:
    """The culture scores of the workspace's organisation (or *org*) in the waves up to
    *upto* (default: all) against the customer KPIs after each (see the module doc).

    Kept in memory until a response arrives, a wave changes or the DuckDB warehouse file
    does, so the Culture page and the report pay for it once."""
    cfg = kpi_link_settings(ws.config.extra)
    stamp = ws.warehouse_stamp()
    with session_scope(ws.store_url, write=False) as s:
        state = tuple((w.id, w.responses, w.status, w.closed_at) for w in list_waves(s))
    key = (ws.store_url, upto, org, repr(cfg), (ws.config.extra.get("culture") or {}).get("org"),
           state, stamp)
    if stamp is not None and key in _CACHE:
        return _CACHE[key]
    found = _kpi_links(ws, cfg, upto, org)
    if stamp is not None and ws.warehouse_stamp() == stamp:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[key] = found
    return found


def _kpi_links(ws: Workspace, cfg: KpiLinkSettings, upto: str | None,
               org: str | None) -> KpiLinks:
    out = KpiLinks(days=cfg.days, score=cfg.score, min_customers=cfg.min_customers,
                   mapping={d: slice_label(w) for d, w in cfg.departments.items()})
    waves = _waves_upto(ws, upto)
    if not waves:
        out.notes.append("No wave has responses yet.")
        return out
    out.org = org if org is not None else focal_org(ws, responses_by_org(ws, waves[-1].id))
    if out.org is None:
        return out
    out.waves, out.departments = _scores(ws, waves, out.org, cfg.score, cfg.departments)
    with ws.reader(missing_ok=True) as con:
        tables = con.list_tables() if con is not None else []
        if not {"order_lines", "customers"} <= set(tables):
            out.notes.append(NO_ORDERS)
            return out
        _fill(con, cfg, out)
    out.wave_links = _links(out.waves, cfg.score, "waves", cfg.min_customers)
    if cfg.departments:
        out.department_links = _links(out.departments, cfg.score, "department-waves",
                                      cfg.min_customers)
    else:
        out.notes.append("No department is mapped to a slice of customers: add "
                         "[culture.kpi_links.departments] to outsidein.toml, e.g. "
                         "Sales = { region = \"north\" }.")
    return out


def _fill(con: Any, cfg: KpiLinkSettings, out: KpiLinks) -> None:
    """The KPIs of every point's period, and notes on the periods left out."""
    columns = set(con.table("customers").columns)
    for dep, where in cfg.departments.items():
        bad = [c for c in where if c not in columns]
        if bad:
            raise ConfigError(f"outsidein.toml [culture.kpi_links.departments] {dep!r}: table "
                              f"customers has no column {', '.join(bad)}; it has "
                              f"{', '.join(sorted(columns))}")
    lines = con.table("order_lines")
    span = lines.aggregate(lo=lines.ts.min().date(), hi=lines.ts.max().date()).execute()
    if span.empty or pd.isna(span["lo"].iloc[0]):
        out.notes.append(NO_ORDERS)
        return
    first, last = pd.Timestamp(span["lo"].iloc[0]).date(), pd.Timestamp(span["hi"].iloc[0]).date()
    usable: dict[str, tuple[date, date]] = {}
    for p in out.waves:
        if p["closed"] is None:
            out.notes.append(f"Wave {p['wave']} is still open: its period has not begun.")
            continue
        lo, hi = _window(p["closed"], cfg.days)
        if hi - timedelta(days=1) > last or lo < first:
            out.notes.append(f"Wave {p['wave']}: the {cfg.days} days after it closed "
                             f"({lo} to {hi - timedelta(days=1)}) are not all in the "
                             f"warehouse (orders from {first} to {last}); left out.")
            continue
        usable[p["wave"]] = (lo, hi)
    slices = {ALL_CUSTOMERS: {}, **cfg.departments}
    found = window_kpis(con, usable, slices)
    for p in out.waves:
        if p["wave"] in usable:
            lo, hi = usable[p["wave"]]
            p["period"] = [lo.isoformat(), (hi - timedelta(days=1)).isoformat()]
            p["kpis"] = found[(p["wave"], ALL_CUSTOMERS)]
    for p in out.departments:
        key = p.pop("key")
        p["slice"] = slice_label(cfg.departments[key])
        if p["wave"] in usable:
            lo, hi = usable[p["wave"]]
            p["period"] = [lo.isoformat(), (hi - timedelta(days=1)).isoformat()]
            p["kpis"] = found[(p["wave"], key)]
    hidden = sorted({p["department"] for p in out.departments if not p["shown"]})
    if hidden:
        out.notes.append(f"No score for {', '.join(hidden)} in some waves (fewer than "
                         f"{RULES.min_scores} respondents, or hidden so a smaller group cannot "
                         "be worked out): those points are left out.")
