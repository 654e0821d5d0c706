"""Outside-In: make a company market-driven.

Integrated customer data (``outsidein.warehouse``), the five crucial questions
(``outsidein.value``), shared customer truth (``outsidein.services.share``) and the web
app (``outsidein.web``).  See the README for the tour.
"""

__version__ = "0.1.0"
