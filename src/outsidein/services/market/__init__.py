"""Market sensing's use cases: segments, baskets, context lift and the KPI watch.

Each use case reads the warehouse through Ibis expressions (DuckDB or Spark), calls the
pure engine :mod:`outsidein.market`, and writes its results to warehouse tables and a
results file the CLI, the web page and the report read.
"""

from __future__ import annotations

__all__: list[str] = []
