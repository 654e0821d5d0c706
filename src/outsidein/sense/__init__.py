"""The sense-and-respond engine (to come): buying-stage sensing and next-message decisions.

Pure like :mod:`outsidein.value`: no I/O; its use cases go in ``services/``, its pages in
``web/routes/``, its commands in ``cli/`` and its report section in ``report/sections/``.
"""

__all__: list[str] = []
