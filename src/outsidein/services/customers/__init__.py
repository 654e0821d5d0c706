"""The customer 360: everything known about one customer (or prospect), and finding them.

:func:`customer_360` reads the warehouse (read-only, never blocking a load) and the store
for one id and returns a :class:`CustomerView`: who the customer is, value now and over
time, orders, interactions, service costs and cost to serve, referrals in and out, NPS,
the insights that mention them and, for a prospect, its scores with their reasons.  Each
panel is a :class:`Section`; one whose data is not loaded says what would fill it.
:func:`search_customers` finds customers and prospects by id prefix or name.

>>> from outsidein.services.customers import customer_360, search_customers
>>> view = customer_360(ws, session, "C0000042")       # doctest: +SKIP
>>> view.section("orders").figures["orders"]          # doctest: +SKIP
12
"""

from __future__ import annotations

from outsidein.services.customers.mentions import insights_mentioning, mentions
from outsidein.services.customers.model import CustomerView, SearchHit, Section, nps_category
from outsidein.services.customers.view import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    SEARCH_LIMIT,
    currency_of,
    customer_360,
    search_customers,
)

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "SEARCH_LIMIT", "CustomerView", "SearchHit", "Section",
           "currency_of", "customer_360", "insights_mentioning", "mentions", "nps_category",
           "search_customers"]
