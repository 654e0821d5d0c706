"""What one load did: :class:`LoadReport`, returned by the loader and kept in ``loads``."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LoadReport"]


@dataclass(frozen=True)
class LoadReport:
    """What one load did.  ``rows_read == loaded + quarantined + duplicates`` always.

    >>> r = LoadReport("products", "/data/p.csv", "f00d", rows_read=3, loaded=1,
    ...                quarantined=1, duplicates=1, reasons={"unit_cost: below the minimum 0": 1})
    >>> r
    LoadReport(products: read 3 rows from p.csv: 1 loaded, 1 quarantined, 1 duplicates \
skipped, 0 stub customers created (0.0 s))
    >>> r.to_dict()["reasons"]
    {'unit_cost: below the minimum 0': 1}
    """

    table: str
    file: str
    load_id: str
    rows_read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    stubs_created: int = 0
    skipped_same_file: bool = False
    #: ``"column: reason" -> rows`` for the quarantined rows
    reasons: dict[str, int] = field(default_factory=dict)
    #: remarks a user should read (ignored columns, unknown products, replaced stubs)
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    #: what may be wrong with the load (e.g. more than 5% of rows quarantined or duplicates)
    warnings: tuple[str, ...] = ()
    #: the earlier loads of the same file this load replaced (``load --replace``)
    replaced: tuple[str, ...] = ()
    #: the options the file was read with (:meth:`LoadOptions.to_dict`)
    options: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready values."""
        d = asdict(self)
        for name in ("notes", "warnings", "replaced"):
            d[name] = list(getattr(self, name))
        return d

    def summary(self) -> str:
        """One line for people: what was read and where each row went."""
        if self.skipped_same_file:
            return (f"{self.table}: {Path(self.file).name} was already loaded "
                    f"(load {self.load_id}); nothing added")
        return (f"{self.table}: read {self.rows_read:,} rows from {Path(self.file).name}: "
                f"{self.loaded:,} loaded, {self.quarantined:,} quarantined, "
                f"{self.duplicates:,} duplicates skipped, {self.stubs_created:,} stub customers "
                f"created ({self.seconds:.1f} s)")

    def __repr__(self) -> str:
        return f"LoadReport({self.summary()})"

    def _repr_html_(self) -> str:
        rows = [("rows read", self.rows_read), ("loaded", self.loaded),
                ("quarantined", self.quarantined), ("duplicates skipped", self.duplicates),
                ("stub customers created", self.stubs_created)]
        rows += [(f"quarantined: {reason}", n) for reason, n in self.reasons.items()]
        body = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:,}</td></tr>" for k, v in rows)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        notes += "".join(f"<li><b>warning:</b> {html.escape(w)}</li>" for w in self.warnings)
        return (f"<b>{html.escape(self.table)}</b> from {html.escape(Path(self.file).name)}"
                f"<table>{body}</table>" + (f"<ul>{notes}</ul>" if notes else ""))
