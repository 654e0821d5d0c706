"""The demo company: a synthetic business with planted truths, loaded through the loader.

A client of the loader, not storage: :func:`generate_demo` simulates customers, orders,
service costs, referrals, prospects, context events and stock, and loads them with the
same validation a user's files get; :func:`seed_demo_people` adds the demo's accounts and
:func:`seed_demo_loop` its needs, alignment items and Ask-Listen-Learn-Act chains.

>>> from outsidein.demo import generate_demo
>>> report = generate_demo(ws, customers=20_000, seed=7)       # doctest: +SKIP
"""

from __future__ import annotations

from outsidein.demo.accounts import DEMO_PASSWORD, seed_demo_people
from outsidein.demo.company import DemoReport, generate_demo
from outsidein.demo.loop import seed_demo_loop

__all__ = ["DEMO_PASSWORD", "DemoReport", "generate_demo", "seed_demo_loop", "seed_demo_people"]
