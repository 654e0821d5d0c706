"""The market-sensing engine (to come): stratification, event-driven products, KPI watch.

Pure like :mod:`outsidein.value`: no I/O; its use cases go in ``services/``, its pages in
``web/routes/``, its commands in ``cli/`` and its report section in ``report/sections/``.
"""

__all__: list[str] = []
