"""The canonical customer data model.

Every table the loader accepts is declared here once: its columns with Ibis
types, which are required in an input file, the natural key used for
duplicate detection and idempotent loads, and the allowed values of
categorical columns.  The loader, the demo generator, the analyses and the
docs all read this module; nothing else declares table shapes.

Time stamps are naive UTC ``timestamp``; money is ``float64`` in the
company's currency (compare across engines after rounding to cents).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt

if TYPE_CHECKING:
    from outsidein.warehouse.engine import Warehouse

CHANNELS = ("store", "call_center", "web", "email", "mobile", "chat", "social")
INTERACTION_TYPES = (
    "visit", "product_view", "search", "cart_add", "checkout", "support_call",
    "complaint", "email_open", "email_click", "unsubscribe", "review", "pricing_view",
)
SERVICE_COST_KINDS = ("support", "return", "delivery", "discount", "other")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # Ibis type string: "string", "int64", "float64", "boolean", "timestamp", "date"
    required: bool = False
    doc: str = ""
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    doc: str = ""
    #: foreign keys: column -> (table, column)
    references: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def ibis_schema(self) -> ibis.Schema:
        return ibis.schema({c.name: dt.dtype(c.dtype) for c in self.columns})


C = Column

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "customers",
            (
                C("customer_id", "string", True, "stable customer identifier"),
                C("first_seen", "timestamp", doc="first contact; defaults to first order"),
                C("region", "string"),
                C("industry", "string", doc="B2B segment attribute"),
                C("company_size", "string", doc="B2B segment attribute, e.g. '50-200'"),
                C("age_band", "string", doc="B2C segment attribute, e.g. '25-34'"),
                C("acquisition_channel", "string", doc="e.g. web, store, referral, trade_show"),
                C("consent_email", "boolean"),
                C("consent_sms", "boolean"),
                C("nps", "int64", doc="last Net Promoter answer 0-10, if any", min_value=0),
                C("is_stub", "boolean", doc="created by the loader for an unknown customer id"),
            ),
            key=("customer_id",),
            doc="one row per customer",
        ),
        TableSpec(
            "products",
            (
                C("product_id", "string", True),
                C("name", "string"),
                C("product_type", "string", doc="category used for margins and segments"),
                C("unit_cost", "float64", doc="cost of goods per unit", min_value=0),
            ),
            key=("product_id",),
        ),
        TableSpec(
            "order_lines",
            (
                C("order_id", "string", True),
                C("customer_id", "string", True),
                C("product_id", "string", True),
                C("ts", "timestamp", True, "order time"),
                C("quantity", "int64", True, "negative only for returns"),
                C("revenue", "float64", True, "net of nothing; discount is separate"),
                C("discount", "float64", doc="discount given on the line", min_value=0),
                C("is_return", "boolean", doc="a return line (negative quantity allowed)"),
            ),
            key=("order_id", "product_id"),
            references={"customer_id": ("customers", "customer_id"),
                        "product_id": ("products", "product_id")},
        ),
        TableSpec(
            "interactions",
            (
                C("customer_id", "string", True),
                C("ts", "timestamp", True),
                C("channel", "string", True, allowed=CHANNELS),
                C("type", "string", True, allowed=INTERACTION_TYPES),
                C("product_id", "string", doc="product concerned, if any"),
                C("attributes", "string", doc="free attributes as a JSON object"),
            ),
            key=("customer_id", "ts", "channel", "type"),
            references={"customer_id": ("customers", "customer_id")},
        ),
        TableSpec(
            "service_costs",
            (
                C("customer_id", "string", True),
                C("ts", "timestamp", True),
                C("kind", "string", True, allowed=SERVICE_COST_KINDS),
                C("amount", "float64", True, min_value=0),
            ),
            key=("customer_id", "ts", "kind"),
            references={"customer_id": ("customers", "customer_id")},
        ),
        TableSpec(
            "referrals",
            (
                C("referrer_id", "string", True),
                C("referred_id", "string", True),
                C("ts", "timestamp", True),
            ),
            key=("referrer_id", "referred_id"),
            references={"referrer_id": ("customers", "customer_id")},
        ),
        TableSpec(
            "prospects",
            (
                C("prospect_id", "string", True),
                C("created", "timestamp", True),
                C("source", "string", doc="e.g. trade_show, web_form, referral, ads"),
                C("region", "string"),
                C("industry", "string"),
                C("company_size", "string"),
                C("age_band", "string"),
                C("web_visits", "int64", min_value=0),
                C("pricing_visits", "int64", min_value=0),
                C("email_opens", "int64", min_value=0),
                C("converted_customer_id", "string", doc="null while not converted"),
            ),
            key=("prospect_id",),
        ),
        TableSpec(
            "context_events",
            (
                C("kind", "string", True, "e.g. storm_warning, holiday, competitor_promo"),
                C("region", "string", True),
                C("start", "timestamp", True),
                C("end", "timestamp", True),
            ),
            key=("kind", "region", "start"),
        ),
        TableSpec(
            "availability",
            (
                C("product_id", "string", True),
                C("region", "string", True),
                C("date", "date", True),
                C("in_stock", "boolean", True),
                C("delivery_days", "float64", min_value=0),
            ),
            key=("product_id", "region", "date"),
            references={"product_id": ("products", "product_id")},
        ),
    )
}

#: Book-keeping tables the loader maintains.
QUARANTINE = TableSpec(
    "quarantine",
    (
        C("load_id", "string", True),
        C("table_name", "string", True),
        C("file", "string", True),
        C("row_number", "int64", True, "1-based data row number in the file (header excluded)"),
        C("column", "string"),
        C("reason", "string", True),
        C("raw", "string", doc="the offending row as JSON"),
    ),
    key=("load_id", "row_number", "column"),
)
LOADS = TableSpec(
    "loads",
    (
        C("load_id", "string", True),
        C("table_name", "string", True),
        C("file", "string", True),
        C("file_sha256", "string", True),
        C("started", "timestamp", True),
        C("finished", "timestamp", True),
        C("rows_read", "int64", True),
        C("loaded", "int64", True),
        C("quarantined", "int64", True),
        C("duplicates", "int64", True),
        C("stubs_created", "int64", True),
    ),
    key=("load_id",),
)


def table_spec(name: str) -> TableSpec:
    """The spec of canonical table *name*; a clear error lists the valid names."""
    from outsidein.errors import DataValidationError

    try:
        return TABLES[name]
    except KeyError:
        raise DataValidationError(
            f"unknown table {name!r}; expected one of {', '.join(TABLES)}"
        ) from None


def ensure_schema(wh: Warehouse) -> None:
    """Create every canonical and book-keeping table that does not exist yet (empty)."""
    if wh.backend == "pyspark":  # external Parquet tables, see warehouse._spark
        register_spark_tables(wh)
        return
    from outsidein.warehouse.rollup import SPECS as ROLLUP_SPECS

    existing = set(wh.con.list_tables())
    for spec in (*TABLES.values(), QUARANTINE, LOADS, *ROLLUP_SPECS):
        if spec.name not in existing:
            wh.con.create_table(spec.name, schema=spec.ibis_schema())


def register_spark_tables(wh: Warehouse) -> None:
    """Re-attach the workspace's Parquet-backed Spark tables after a restart.

    Spark's default catalog lives in memory; tables are persisted as Parquet
    folders under ``<workspace>/spark-warehouse`` and re-registered here.
    """
    from outsidein.warehouse._spark import register_tables

    register_tables(wh)  # canonical and book-keeping tables, with their schema
    base = wh.root / "spark-warehouse"
    existing = set(wh.con.list_tables())
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        if folder.name not in existing and any(folder.glob("*.parquet")):
            wh.spark.sql(
                f"CREATE TABLE IF NOT EXISTS `{folder.name}` USING parquet LOCATION '{folder}'"
            )
