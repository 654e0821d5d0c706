"""The market-culture engine (to come): survey scoring, validity and benchmark maths.

Pure like :mod:`outsidein.value`: no I/O; its use cases go in ``services/``, its pages in
``web/routes/``, its commands in ``cli/`` and its report section in ``report/sections/``.
"""

__all__: list[str] = []
