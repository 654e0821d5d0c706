"""The canonical customer data model.

Every table the loader accepts is declared here once: its columns with Ibis
types, which are required in an input file, the natural key used for
duplicate detection and idempotent loads, and the allowed values of
categorical columns.  The loader's book-keeping tables (``quarantine``,
``loads``) and the ``purchase_days`` rollup it keeps are declared here too.
The loader, the demo generator, the analyses and the docs all read this
module; nothing else declares table shapes.

Time stamps are naive UTC ``timestamp``; money is ``float64`` in the
company's currency (compare across engines after rounding to cents).

Every canonical table also stores ``load_id``, the load that wrote the row
(:attr:`TableSpec.stored_columns`; not a column a file can give), so that
``outsidein loads undo`` removes exactly one load's rows.

>>> spec = table_spec("order_lines")
>>> spec.key, spec.references["customer_id"]
(('order_id', 'product_id', 'line'), ('customers', 'customer_id'))
>>> spec.stored_columns[-1].name
'load_id'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from outsidein.domain import SERVICE_COST_KINDS
from outsidein.errors import DataValidationError

if TYPE_CHECKING:
    import ibis

CHANNELS = ("store", "call_center", "web", "email", "mobile", "chat", "social")
INTERACTION_TYPES = (
    "visit", "product_view", "search", "cart_add", "checkout", "support_call",
    "complaint", "email_open", "email_click", "unsubscribe", "review", "pricing_view",
)


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    >>> Column("nps", "int64", min_value=0).required
    False
    """

    name: str
    dtype: str  # Ibis type string: "string", "int64", "float64", "boolean", "timestamp", "date"
    required: bool = False
    doc: str = ""
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    #: a larger absolute value is quarantined (money: :data:`MONEY_MAX`)
    max_abs: float | None = None
    #: a date column that may hold dates after the load time (a calendar of events)
    future_ok: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A table's columns, natural key and references to other tables.

    >>> spec = TABLES["products"]
    >>> spec.required, spec.column("unit_cost").min_value
    (('product_id',), 0)
    >>> spec.ibis_schema()["unit_cost"]
    Float64(nullable=True)
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    doc: str = ""
    #: foreign keys: column -> (table, column)
    references: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: whether each stored row carries the ``load_id`` of the load that wrote it
    by_load: bool = True

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

    @property
    def stored_columns(self) -> tuple[Column, ...]:
        """The columns of the stored table: :attr:`columns`, then ``load_id`` if :attr:`by_load`.

        >>> [c.name for c in TABLES["products"].stored_columns][-2:]
        ['unit_cost', 'load_id']
        """
        return (*self.columns, LOAD_ID_COLUMN) if self.by_load else self.columns

    def ibis_schema(self) -> ibis.Schema:
        """The stored table's schema (with ``load_id`` when :attr:`by_load`)."""
        import ibis  # kept off the start-up path: `outsidein status` reads table names only

        return ibis.schema({c.name: ibis.dtype(c.dtype) for c in self.stored_columns})


C = Column

#: The largest absolute money amount the loader accepts.  Sums are kept in integer
#: cents (``purchase_days.value_cents``, int64 up to 9.2e18): at 1e12 a value is 1e14
#: cents, so a customer's day of purchases fits unless it holds 92,000 such lines.
MONEY_MAX = 1e12

#: Kept with every canonical row: the load that wrote it (a stub customer: the load that
#: created it).  Rows of a warehouse older than this column have none (they cannot be undone).
LOAD_ID_COLUMN = C("load_id", "string", doc="the load that wrote the row (outsidein loads)")

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
                C("unit_cost", "float64", doc="cost of goods per unit", min_value=0,
                  max_abs=MONEY_MAX),
            ),
            key=("product_id",),
        ),
        TableSpec(
            "order_lines",
            (
                C("order_id", "string", doc="when absent, an order is the customer's purchases "
                                            "at one time stamp: customer_id@ts"),
                C("customer_id", "string", True),
                C("product_id", "string", doc="null when the feed has no products"),
                C("ts", "timestamp", True, "order time"),
                C("quantity", "int64", True, "negative only for returns"),
                C("revenue", "float64", True, "net of nothing; discount is separate",
                  max_abs=MONEY_MAX),
                C("discount", "float64", doc="discount given on the line", min_value=0,
                  max_abs=MONEY_MAX),
                C("is_return", "boolean", doc="a return line (negative quantity allowed)"),
                C("line", "int64", doc="number of a line without product id within its order "
                                       "(filled by the loader: 1, 2, ... in file order)",
                  min_value=1),
            ),
            # null product ids and lines compare as equal (IS NOT DISTINCT FROM)
            key=("order_id", "product_id", "line"),
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
                C("amount", "float64", True, min_value=0, max_abs=MONEY_MAX),
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
            "campaigns",
            (
                C("campaign_id", "string", True),
                C("name", "string"),
                C("kind", "string", doc="e.g. push (everyone the same), targeted, trigger"),
                C("channel", "string", allowed=CHANNELS),
                C("message", "string", doc="what was sent, e.g. spring_sale"),
                C("need", "string", doc="awareness, advice, sales, retention or service"),
                C("start", "timestamp"),
                C("end", "timestamp", future_ok=True),
            ),
            key=("campaign_id",),
            doc="past campaigns (the 'push' that came before sense and respond)",
        ),
        TableSpec(
            "campaign_contacts",
            (
                C("campaign_id", "string", True),
                C("customer_id", "string", True),
                C("ts", "timestamp", True, "when the message went out"),
                C("channel", "string", allowed=CHANNELS),
                C("message", "string", doc="defaults to the campaign's message"),
                C("responded", "boolean", doc="a click, order or reply credited to it"),
                C("response_ts", "timestamp"),
                C("response", "string", doc="e.g. click, purchase"),
                C("propensity", "float64", min_value=0, max_abs=1.0,
                  doc="probability the customer was picked, when known (random selection): "
                      "makes the contacts usable for offline policy evaluation"),
            ),
            key=("campaign_id", "customer_id", "ts"),
            references={"customer_id": ("customers", "customer_id")},
            doc="who each campaign reached, when, and whether they responded",
        ),
        TableSpec(
            "context_events",
            (
                C("kind", "string", True, "e.g. storm_warning, holiday, competitor_promo"),
                C("region", "string", True),
                C("start", "timestamp", True, future_ok=True),
                C("end", "timestamp", True, future_ok=True),
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
    by_load=False,
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
        C("options", "string", doc="the load's LoadOptions as JSON (null: an older load)"),
        C("options_fingerprint", "string",
          doc="with file_sha256, what identifies a load (LoadOptions.fingerprint)"),
    ),
    key=("load_id",),
    by_load=False,
)
def _attributes_spec(table: str) -> TableSpec:
    key = TABLES[table].key[0]
    return TableSpec(
        f"{table.removesuffix('s')}_attributes",
        (
            C(key, "string", True),
            C("load_id", "string", True, "the load that kept the values"),
            C("loaded_at", "timestamp", True, "when that load started: the latest value wins"),
        ),
        key=(key, "load_id"),
        doc=f"the columns of {table} files that the canonical model does not name, one typed "
            "column each, added as they arrive (see outsidein.warehouse.attributes)",
        by_load=False,
    )


#: Per table whose files' extra columns the loader keeps as typed attributes, the table
#: that keeps them (``customer_attributes``, ``prospect_attributes``, ``product_attributes``).
ATTRIBUTE_SPECS: dict[str, TableSpec] = {
    t: _attributes_spec(t) for t in ("customers", "prospects", "products")}
#: Book-keeping tables keyed by ``load_id`` besides the canonical ones: ``outsidein loads
#: undo`` deletes a load's rows from each.
LOAD_KEYED: tuple[str, ...] = (QUARANTINE.name,
                               *(s.name for s in ATTRIBUTE_SPECS.values()))
#: the quarantine's column for a line that could not be read at all (its raw is {"line": text})
LINE_COLUMN = "(line)"

#: The rollup the loader keeps on DuckDB (see :mod:`outsidein.warehouse.rollup`).
PURCHASE_DAYS = TableSpec(
    "purchase_days",
    (
        C("customer_id", "string", True),
        C("day", "int64", True, "UTC epoch day (days since 1970-01-01)"),
        C("value_cents", "int64", True, "sum of the day's purchase lines, in cents"),
        C("first_ts", "timestamp", True, "first purchase time stamp of the day"),
        C("last_ts", "timestamp", True, "last purchase time stamp of the day"),
    ),
    key=("customer_id", "day"),
    doc="order lines that are purchases, one row per customer and day (kept by the loader)",
    by_load=False,
)
ROLLUPS = TableSpec(
    "rollups",
    (
        C("name", "string", True),
        C("source_rows", "int64", True, "rows of the source table the rollup covers"),
    ),
    key=("name",),
    doc="which source rows each rollup covers",
    by_load=False,
)
ROLLUP_SPECS = (PURCHASE_DAYS, ROLLUPS)
#: canonical and book-keeping tables (a Spark warehouse declares each as a Parquet table)
MANAGED: dict[str, TableSpec] = {**TABLES, QUARANTINE.name: QUARANTINE, LOADS.name: LOADS,
                                 **{s.name: s for s in ATTRIBUTE_SPECS.values()}}


def table_spec(name: str) -> TableSpec:
    """The spec of canonical table *name*; a clear error lists the valid names.

    >>> table_spec("customers").key
    ('customer_id',)
    >>> table_spec("orders")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outsidein.errors.DataValidationError: unknown table 'orders'; expected one of customers, ...
    """
    try:
        return TABLES[name]
    except KeyError:
        raise DataValidationError(
            f"unknown table {name!r}; expected one of {', '.join(TABLES)}"
        ) from None

