"""The action catalogue file: what sense and respond may send, read and checked at load.

A workspace uses the file named by ``catalogue`` in the ``[sense]`` section of its
``outsidein.toml`` (relative to the workspace folder), or else the catalogue shipped with
Outside-In (``default_catalogue.toml`` beside this module: a few messages for each need).
A bad file stops the load with a :class:`~outsidein.errors.ConfigError` that names the
file, the line, the field and the problem, e.g.::

    catalogue.toml line 14: [[actions]] #2 'cart_advice', field template: unknown
    placeholder {firstname}; known: customer_id, first_name, ...

The format (TOML)
-----------------
``version = 1`` (optional), then one ``[[actions]]`` table per message:

``name`` (required)
    Unique name of the message (what decisions and the outbox record).
``need`` (required)
    The message need it meets: ``awareness``, ``advice``, ``sales``, ``retention`` or
    ``service``.
``template`` (required), ``subject`` (optional)
    The content, with ``{placeholders}`` among :data:`~outsidein.sense.catalogue.
    TEMPLATE_FIELDS` (``customer_id``, ``first_name``, ``product_name``, ...); a literal
    brace is written ``{{`` or ``}}``.  An unknown placeholder is an error at load.
``channels``
    The channels it can go by, in order of preference (default ``["email"]``).
``stages``
    Eligibility: the buying stages it is for (default: any).
``segments``
    Eligibility: the segments it is for (default: any).
``value_deciles``
    Eligibility: ``[lowest, highest]`` customer value decile, 1-10 (default ``[1, 10]``).
``consent``
    Whether it needs the customer's consent for the channel (default ``true``; ``false``
    only for service messages the customer asked for).
``value``, ``weight``
    Value if it works and business weight, for arbitration (propensity x value x weight).
``follow_up``
    ``{ action = "...", after_hours = N, unless = ["checkout", ...] }``: send that action of
    the file N hours after this one unless one of those event types arrives first.

and any number of ``[[timing]]`` tables, each a timing rule:

``name``, ``on`` (an interaction type), ``action`` (required)
    After an event ``on``, send ``action``.
``channel``
    Only for events on this channel (default: any channel).
``after_hours``, ``within_hours``
    Send that many hours after the event (default 0); ``within_hours`` is the promise made
    and ``after_hours`` may not exceed it.
``unless``
    Event types that cancel the message if they arrive before it is sent.

>>> cat = load_catalogue()
>>> sorted({e.need for e in cat.entries})
['advice', 'awareness', 'retention', 'sales', 'service']
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from outsidein.errors import ConfigError
from outsidein.sense.catalogue import Catalogue, CatalogueProblem, build_catalogue
from outsidein.tomltext import line_of, parse_toml, problem_error

__all__ = ["DEFAULT_CATALOGUE", "catalogue_path", "line_of", "load_catalogue",
           "parse_catalogue"]

#: the catalogue shipped with Outside-In (used when the workspace names none)
DEFAULT_CATALOGUE = "default_catalogue.toml"

def parse_catalogue(text: str, source: str = "catalogue") -> Catalogue:
    """Check and build the catalogue in TOML *text*; *source* names it in errors."""
    doc = parse_toml(text, source)
    try:
        return build_catalogue(doc)
    except CatalogueProblem as p:
        raise problem_error(source, text, doc, p.path, p.field, p.problem) from p


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read the catalogue file at *path* (default: the one shipped with Outside-In)."""
    if path is None:
        text = files("outsidein.services.sense").joinpath(DEFAULT_CATALOGUE).read_text("utf-8")
        return parse_catalogue(text, DEFAULT_CATALOGUE)
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: the action catalogue cannot be read ({exc.strerror}); fix "
                          "[sense] catalogue in outsidein.toml") from exc
    return parse_catalogue(text, str(p))


def catalogue_path(sense_section: Mapping[str, Any] | None, root: Path) -> Path | None:
    """The file ``[sense] catalogue`` names (relative to the workspace *root*), or None."""
    name = (sense_section or {}).get("catalogue")
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"outsidein.toml [sense] catalogue must be a file name, got {name!r}")
    p = Path(name)
    return p if p.is_absolute() else root / p
