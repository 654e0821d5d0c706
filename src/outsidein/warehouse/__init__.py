"""Storage of the customer data: the analytics warehouse (DuckDB or Spark, through Ibis).

One module per job: :mod:`~outsidein.warehouse.engine` (open a warehouse, create its
tables), :mod:`~outsidein.warehouse.schema` (the canonical data model),
:mod:`~outsidein.warehouse.load` (validate and load files and frames, with
:mod:`~outsidein.warehouse.dialect` for how a text file is written,
:mod:`~outsidein.warehouse.quality` for the rules, with
:mod:`~outsidein.warehouse.dates` (which date format a column is written in) and
:mod:`~outsidein.warehouse.expressions` (derived columns of a mapping),
:mod:`~outsidein.warehouse.options` for the load's options, and :mod:`~outsidein.warehouse.target`
and :mod:`~outsidein.warehouse.spark_target` for the writes, and
:mod:`~outsidein.warehouse.attributes` for the extra columns of customers, prospects
and products files, kept as typed attributes, :mod:`~outsidein.warehouse.keys` for
order keys, duplicates and stub customers, :mod:`~outsidein.warehouse.load_checks` for
the loads that must warn or fail), :mod:`~outsidein.warehouse.undo` (list the loads,
undo one), :mod:`~outsidein.warehouse.summary` and :mod:`~outsidein.warehouse.rollup` (the
per-customer purchase summary) and :mod:`~outsidein.warehouse.spark_catalog` (a Spark
warehouse's Parquet tables).  Import each from its module (the public modules are
listed in ``__all__``); this package re-exports nothing.  A workspace loads through
:mod:`outsidein.services.data`.
"""

__all__ = ["attribute_inventory", "attributes", "dates", "dialect", "engine", "expressions",
           "keys", "load", "load_checks", "load_report", "options", "quality", "rollup",
           "schema", "spark_catalog", "spark_target", "sql", "summary", "target", "undo"]
