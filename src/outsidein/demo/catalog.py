"""The demo company's world: products, regions, context events and stock.

Everything here is independent of individual customers: the product
catalogue (product types with their margins, three storm-sensitive
products), the storm warnings and holidays per region, and the
availability grid with its stock-out and slow-delivery episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REGIONS = ("north", "south", "east", "west", "coast")
REGION_SHARE = (0.24, 0.22, 0.22, 0.20, 0.12)
#: normal delivery days per region (the availability grid adds noise)
REGION_DELIVERY = (2.0, 2.5, 1.5, 2.0, 3.0)

#: product type -> (list margin rate, lowest price, highest price, number of products)
PRODUCT_TYPES: dict[str, tuple[float, float, float, int]] = {
    "electronics": (0.12, 40.0, 900.0, 30),
    "appliances": (0.18, 30.0, 600.0, 20),
    "home_kitchen": (0.35, 8.0, 150.0, 30),
    "tools_hardware": (0.30, 6.0, 250.0, 25),
    "grocery_snacks": (0.22, 2.0, 15.0, 25),
    "batteries_power": (0.40, 4.0, 40.0, 15),
    "accessories": (0.55, 5.0, 80.0, 30),
    "office_supplies": (0.40, 2.0, 60.0, 25),
}
TYPE_NAMES = tuple(PRODUCT_TYPES)

_NOUNS = {
    "electronics": ("Laptop", "Tablet", "Monitor", "Smartphone", "Headphones", "Speaker",
                    "Camera", "Router", "Smartwatch", "Printer"),
    "appliances": ("Microwave", "Blender", "Vacuum", "Air Fryer", "Kettle", "Toaster",
                   "Coffee Maker", "Dehumidifier", "Fan", "Heater"),
    "home_kitchen": ("Pan Set", "Knife Block", "Towel Set", "Storage Box", "Lamp", "Mug Set",
                     "Cutting Board", "Pillow", "Blanket", "Candle"),
    "tools_hardware": ("Drill", "Hammer", "Tape Measure", "Screwdriver Set", "Ladder",
                       "Work Light", "Saw", "Wrench Set", "Tool Box", "Extension Cord"),
    "grocery_snacks": ("Granola Bars", "Crackers", "Trail Mix", "Coffee Beans", "Tea Box",
                       "Chocolate", "Chips", "Cereal", "Juice Pack", "Cookies"),
    "batteries_power": ("AAA Batteries", "9V Battery", "Power Bank", "Charger", "D Batteries",
                        "Surge Protector", "USB Cable", "Solar Charger"),
    "accessories": ("Phone Case", "Laptop Sleeve", "Screen Protector", "Backpack", "Cable Kit",
                    "Mouse Pad", "Stand", "Keychain", "Wallet", "Sunglasses"),
    "office_supplies": ("Paper Ream", "Pens", "Stapler", "Folders", "Notebook", "Labels",
                        "Binder", "Sticky Notes", "Toner", "Desk Organizer"),
}
_VARIANTS = ("Basic", "Plus", "Pro", "Max", "Mini", "XL", "Eco", "Classic", "Lite", "Prime")

#: the planted storm-sensitive products: (name, type, price, sales multiplier before a storm)
STORM_PRODUCTS = (
    ("Strawberry Pop-Tarts", "grocery_snacks", 4.5, 7.0),
    ("Flashlight", "tools_hardware", 15.0, 6.0),
    ("AA Batteries", "batteries_power", 9.0, 5.0),
)
#: storm lift applies to sales in this many days before a storm warning starts
STORM_WINDOW_DAYS = 3
#: an availability row is a "hit" when out of stock or delivery takes at least this long
SLOW_DELIVERY_DAYS = 7.0


@dataclass(frozen=True)
class Catalog:
    """The products, sorted by (type, price) so a price search per type is one searchsorted."""

    product_id: np.ndarray      # str objects
    name: np.ndarray            # str objects
    type_code: np.ndarray       # int8 into TYPE_NAMES
    price: np.ndarray           # list price
    unit_cost: np.ndarray
    list_margin: np.ndarray
    storm_lift: np.ndarray      # 1.0 for ordinary products
    type_start: np.ndarray      # first product index of each type
    type_end: np.ndarray

    @property
    def n(self) -> int:
        return len(self.product_id)

    @property
    def storm_index(self) -> np.ndarray:
        return np.flatnonzero(self.storm_lift > 1.0)


def make_catalog(rng: np.random.Generator) -> Catalog:
    """About 200 products in eight types; prices log-uniform within each type's range."""
    rows: list[tuple[int, str, float, float, float]] = []
    for t, (tname, (margin, lo, hi, count)) in enumerate(PRODUCT_TYPES.items()):
        planted = [s for s in STORM_PRODUCTS if s[1] == tname]
        for name, _, price, lift in planted:
            rows.append((t, name, price, margin, lift))
        nouns = _NOUNS[tname]
        prices = np.exp(rng.uniform(np.log(lo), np.log(hi), count - len(planted)))
        for i, price in enumerate(prices):
            name = f"{nouns[i % len(nouns)]} {_VARIANTS[(i // len(nouns)) % len(_VARIANTS)]}"
            rows.append((t, name, round(float(price), 2), margin, 1.0))
    rows.sort(key=lambda r: (r[0], r[2]))
    type_code = np.array([r[0] for r in rows], dtype=np.int8)
    prices_all = np.array([r[2] for r in rows])
    margins = np.array([r[3] for r in rows])
    n = len(rows)
    starts = np.searchsorted(type_code, np.arange(len(TYPE_NAMES)), side="left")
    ends = np.searchsorted(type_code, np.arange(len(TYPE_NAMES)), side="right")
    return Catalog(
        product_id=np.array([f"P{i + 1:04d}" for i in range(n)], dtype=object),
        name=np.array([r[1] for r in rows], dtype=object),
        type_code=type_code,
        price=prices_all,
        unit_cost=np.round(prices_all * (1.0 - margins), 2),
        list_margin=margins,
        storm_lift=np.array([r[4] for r in rows]),
        type_start=starts,
        type_end=ends,
    )


@dataclass(frozen=True)
class ContextEvents:
    """Context events as arrays; ``start``/``end`` in days since the data start."""

    kind: np.ndarray    # str objects
    region: np.ndarray  # int region codes
    start: np.ndarray
    end: np.ndarray

    def storm_window(self, days: int) -> np.ndarray:
        """Boolean ``[region, day]``: the day lies in the window before a storm warning."""
        win = np.zeros((len(REGIONS), days + 1), dtype=bool)
        for r, s in zip(self.region[self.kind == "storm_warning"],
                        self.start[self.kind == "storm_warning"], strict=True):
            first = max(0, int(np.floor(s)) - STORM_WINDOW_DAYS)
            win[r, first:int(np.floor(s))] = True
        return win


def make_context_events(rng: np.random.Generator, start: np.datetime64, days: int) -> ContextEvents:
    """Storm warnings (about 3.5 a year per region, at least 30 days apart) and holidays."""
    kinds: list[str] = []
    regions: list[int] = []
    starts: list[float] = []
    ends: list[float] = []
    n_storms = max(2, round(3.5 * days / 365))
    for r in range(len(REGIONS)):
        chosen: list[int] = []
        while len(chosen) < n_storms:
            d = int(rng.integers(45, max(46, days - 5)))
            if all(abs(d - c) >= 30 for c in chosen):
                chosen.append(d)
        for d in sorted(chosen):
            s = d + rng.uniform(0.25, 0.75)
            kinds.append("storm_warning")
            regions.append(r)
            starts.append(s)
            ends.append(s + rng.uniform(1.0, 2.5))
    # holidays: the same dates in every region
    year0 = int(str(start.astype("datetime64[Y]")))
    for year in range(year0, year0 + days // 365 + 2):
        thanks = _thanksgiving(year)
        for month, day, length in ((1, 1, 1), (7, 4, 1), (12, 24, 3)):
            _add_holiday(kinds, regions, starts, ends, start, days,
                         np.datetime64(f"{year}-{month:02d}-{day:02d}"), length)
        _add_holiday(kinds, regions, starts, ends, start, days, thanks, 2)
    # a few competitor promotions
    for r in range(len(REGIONS)):
        for d in rng.integers(30, max(31, days - 14), 2):
            kinds.append("competitor_promo")
            regions.append(r)
            starts.append(float(d))
            ends.append(float(d) + 7)
    return ContextEvents(np.array(kinds, dtype=object), np.array(regions),
                         np.array(starts), np.array(ends))


def _thanksgiving(year: int) -> np.datetime64:
    nov1 = np.datetime64(f"{year}-11-01")
    weekday = (nov1.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 0 = Monday
    first_thu = (3 - weekday) % 7
    return nov1 + np.timedelta64(int(first_thu) + 21, "D")


def _add_holiday(kinds: list[str], regions: list[int], starts: list[float], ends: list[float],
                 start: np.datetime64, days: int, date: np.datetime64, length: int) -> None:
    d = float((date - start).astype("timedelta64[D]").astype(np.int64))
    if 0 <= d < days:
        for r in range(len(REGIONS)):
            kinds.append("holiday")
            regions.append(r)
            starts.append(d)
            ends.append(d + length)


@dataclass(frozen=True)
class Availability:
    """The stock grid ``[product, region, day]``."""

    in_stock: np.ndarray
    delivery_days: np.ndarray

    @property
    def bad(self) -> np.ndarray:
        """Out of stock or slow delivery: a customer ordering then is hit."""
        return (~self.in_stock) | (self.delivery_days >= SLOW_DELIVERY_DAYS)


def make_availability(rng: np.random.Generator, popularity: np.ndarray, days: int,
                      *, stockouts_per_year: int = 20, slow_per_year: int = 12) -> Availability:
    """Normal stock everywhere, then stock-out and slow-delivery episodes on popular products.

    Episodes last 7-28 days; products are drawn by popularity so that the
    episodes hit enough customers (about 5-10 %) to measure what they cost.
    """
    n = len(popularity)
    base = np.array(REGION_DELIVERY)[None, :, None]
    delivery = np.round(base + rng.gamma(2.0, 0.4, (n, len(REGIONS), days + 1)), 1)
    delivery = np.minimum(delivery, SLOW_DELIVERY_DAYS - 1.5)
    in_stock = np.ones((n, len(REGIONS), days + 1), dtype=bool)
    weights = popularity / popularity.sum()
    years = days / 365
    for kind, count in (("stockout", stockouts_per_year), ("slow", slow_per_year)):
        k = max(1, round(count * years))
        prods = rng.choice(n, k, p=weights)
        regs = rng.integers(0, len(REGIONS), k)
        firsts = rng.integers(20, max(21, days - 20), k)
        lengths = rng.integers(7, 29, k)
        for p, r, f, ln in zip(prods, regs, firsts, lengths, strict=True):
            if kind == "stockout":
                in_stock[p, r, f:f + ln] = False
                delivery[p, r, f:f + ln] = np.round(rng.uniform(10, 16), 1)
            else:
                delivery[p, r, f:f + ln] = np.round(rng.uniform(8, 14, min(ln, days + 1 - f)), 1)
    return Availability(in_stock=in_stock, delivery_days=delivery.astype(np.float64))
