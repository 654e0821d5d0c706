"""How one file is read and mapped: :class:`LoadOptions`, and the load's identity.

Every choice a user makes on ``outsidein load`` (or in a named mapping of
``outsidein.toml``) is one field here, so that the reader
(:mod:`outsidein.warehouse._stage`), the rules (:mod:`outsidein.warehouse.quality`)
and the book-keeping (:mod:`outsidein.warehouse.load`) read the same value,
and so that a load is identified by its file *and* these options: after a
mistake, the same file loaded with a corrected mapping or date format is a new
load, not "already loaded".

>>> a = LoadOptions(mapping={"customer_id": "CustomerNo"})
>>> b = LoadOptions(mapping={"customer_id": "CustomerNo"}, date_format="%Y%m%d")
>>> a.fingerprint() == LoadOptions(mapping={"customer_id": "CustomerNo"}).fingerprint()
True
>>> a.fingerprint() == b.fingerprint()
False
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from outsidein.errors import DataValidationError
from outsidein.warehouse.expressions import DECIMALS

__all__ = ["LoadOptions"]


@dataclass(frozen=True)
class LoadOptions:
    """The reading and mapping options of one load.

    Attributes
    ----------
    mapping : mapping of str to str
        ``{target: source}``: a source column name (a rename), or a scalar
        expression over the file's columns or a constant
        (``revenue=sales_value + retail_disc``, ``type='coupon_redeem'``).
    date_format : str, optional
        ``strptime`` format of date/time columns; inferred when omitted.
    delimiter : str, optional
        Field delimiter of a text file (``","``, ``";"``, ``"\\t"``, ``"|"``, or
        ``"whitespace"`` for runs of spaces); detected when omitted.
    header : bool
        Whether the first line of a text file names the columns.
    columns : tuple of str, optional
        Column names of a file without a header (``--no-header --columns a,b,c``).
    encoding : str, optional
        Text encoding (``utf-8`` by default; e.g. ``latin-1``, ``cp1252``).
    allow_future : bool
        Keep dates after the load time plus one day instead of quarantining them.
    decimal : str
        The decimal separator of numbers written as text: ``"."`` (default) or ``","``
        (``1.234,50``; :func:`~outsidein.warehouse.expressions.text_to_number`).
    """

    mapping: Mapping[str, str] = field(default_factory=dict)
    date_format: str | None = None
    delimiter: str | None = None
    header: bool = True
    columns: tuple[str, ...] | None = None
    encoding: str | None = None
    allow_future: bool = False
    decimal: str = "."

    def __post_init__(self) -> None:
        if self.decimal not in DECIMALS:
            raise DataValidationError(f"--decimal {self.decimal!r}: expected '.' or ','")
        if self.decimal == "," and self.delimiter == ",":
            raise DataValidationError("--decimal , needs a delimiter other than ',' (the "
                                      "numbers' commas would split the lines); e.g. "
                                      "--delimiter ';'")

    def to_dict(self) -> dict[str, Any]:
        """The options as plain JSON values (kept with each load)."""
        return {"mapping": dict(sorted(self.mapping.items())), "date_format": self.date_format,
                "delimiter": self.delimiter, "header": self.header,
                "columns": list(self.columns) if self.columns is not None else None,
                "encoding": self.encoding, "allow_future": self.allow_future,
                # only when set: the loads kept before it existed keep their fingerprints
                **({"decimal": self.decimal} if self.decimal != "." else {})}

    def fingerprint(self) -> str:
        """A short hash of the options: with the file's SHA-256 it identifies a load."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]
