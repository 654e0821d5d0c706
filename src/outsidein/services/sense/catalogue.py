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

import re
import tomllib
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from outsidein.errors import ConfigError
from outsidein.sense.catalogue import Catalogue, CatalogueProblem, build_catalogue

__all__ = ["DEFAULT_CATALOGUE", "catalogue_path", "line_of", "load_catalogue",
           "parse_catalogue"]

#: the catalogue shipped with Outside-In (used when the workspace names none)
DEFAULT_CATALOGUE = "default_catalogue.toml"

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")
_TOML_LINE = re.compile(r"at line (\d+)")


def _blocks(text: str) -> list[tuple[str, int, int, list[tuple[str, int]]]]:
    """The file's tables: (name, index among [[name]] tables, header line, [(key, line)])."""
    blocks: list[tuple[str, int, int, list[tuple[str, int]]]] = [("", 0, 1, [])]
    counts: dict[str, int] = {}
    in_string: str | None = None
    for no, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:  # inside a multi-line string: no keys or headers here
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        m = _HEADER.match(line)
        if m:
            name = m.group(2).replace('"', "").replace(" ", "")
            if m.group(1) == "[[":
                counts[name] = counts.get(name, 0) + 1
                blocks.append((name, counts[name] - 1, no, []))
            else:  # a sub-table such as [actions.follow_up] belongs to the last [[actions]]
                top = name.split(".")[0]
                blocks.append((name, max(counts.get(top, 1) - 1, 0), no, []))
            continue
        k = _KEY.match(line)
        if k:
            blocks[-1][3].append((k.group(1).strip('"'), no))
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1:
                in_string = quote
                break
    return blocks


def line_of(text: str, path: tuple[str | int, ...]) -> int:
    """The line of the value at *path* (``("actions", 2, "template")``) in the TOML *text*.

    tomllib keeps no positions, so the text is scanned: the path's table (the n-th
    ``[[actions]]``), then its key; a missing key points at its table's header.

    >>> text = '[[actions]]\\nname = "a"\\n\\n[[actions]]\\nname = "b"\\nneed = "x"\\n'
    >>> line_of(text, ("actions", 1, "need")), line_of(text, ("actions", 1))
    (6, 4)
    """
    blocks = _blocks(text)
    table = str(path[0]) if path else ""
    index = path[1] if len(path) > 1 and isinstance(path[1], int) else 0
    keys = [str(p) for p in path[2:]] if len(path) > 1 and isinstance(path[1], int) else \
        [str(p) for p in path[1:]]
    if not path or (len(path) == 1 and not isinstance(path[0], int)):
        for key, no in blocks[0][3]:
            if key == table:
                return no
        for name, _, no, _ in blocks:
            if name == table:
                return no
        return 1
    # deepest sub-table first: [actions.follow_up] then key "action" in it
    for depth in range(len(keys), -1, -1):
        name = ".".join([table, *keys[:depth]])
        rest = keys[depth:]
        for bname, bidx, header, bkeys in blocks:
            if bname == name and bidx == index:
                for key, no in bkeys:
                    if rest and key == rest[0]:
                        return no
                if not rest:
                    return header
                if depth == 0:
                    return header
    return 1


def parse_catalogue(text: str, source: str = "catalogue") -> Catalogue:
    """Check and build the catalogue in TOML *text*; *source* names it in errors."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        where = f" line {m.group(1)}" if m else ""
        raise ConfigError(f"{source}{where}: not valid TOML: {exc}") from exc
    try:
        return build_catalogue(doc)
    except CatalogueProblem as p:
        raise ConfigError(f"{source} line {line_of(text, p.path)}: {_where(doc, p.path)}"
                          f"field {p.field}: {p.problem}") from p


def _where(doc: Mapping[str, Any], path: tuple[str | int, ...]) -> str:
    if len(path) < 2 or not isinstance(path[1], int):
        return ""
    table = doc.get(str(path[0]))
    item = table[path[1]] if isinstance(table, list) and path[1] < len(table) else None
    name = item.get("name") if isinstance(item, Mapping) else None
    label = f" {name!r}" if isinstance(name, str) else ""
    return f"[[{path[0]}]] #{path[1] + 1}{label}, "


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
