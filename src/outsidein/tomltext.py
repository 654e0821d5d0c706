"""TOML files that people write by hand: errors that name the file, line, table and field.

One home for what the action catalogue (:mod:`outsidein.services.sense.catalogue`) and the
culture instrument (:mod:`outsidein.culture.instrument`) both need: ``tomllib`` keeps no
positions, so :func:`line_of` scans the text for the table and key of a problem's path, and
:func:`problem_error` words it::

    catalogue.toml line 14: [[actions]] #2 'cart_advice', field template: unknown ...

It sits beside :mod:`outsidein.config` at the bottom of the layers, so that engines and
services may both use it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from outsidein.errors import ConfigError

__all__ = ["line_of", "parse_toml", "problem_error"]

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


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """*text* parsed; a syntax error becomes a :class:`ConfigError` naming *source* and the
    line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        where = f" line {m.group(1)}" if m else ""
        raise ConfigError(f"{source}{where}: not valid TOML: {exc}") from exc


def problem_error(source: str, text: str, doc: Mapping[str, Any], path: tuple[str | int, ...],
                  field: str, problem: str, *, name_key: str = "name") -> ConfigError:
    """The error for a bad value at *path* of *doc*: ``"<source> line N: [[table]] #k
    'name', field F: problem"`` (the entry's *name_key* value names it, when it has one).

    >>> text = '[[items]]\\nid = "co1"\\nscale_max = 0\\n'
    >>> str(problem_error("my.toml", text, parse_toml(text, "my.toml"), ("items", 0,
    ...     "scale_max"), "scale_max", "must be above scale_min", name_key="id"))
    "my.toml line 3: [[items]] #1 'co1', field scale_max: must be above scale_min"
    """
    label = ""
    if len(path) >= 2 and isinstance(path[1], int):
        table = doc.get(str(path[0]))
        item = table[path[1]] if isinstance(table, list) and path[1] < len(table) else None
        name = item.get(name_key) if isinstance(item, Mapping) else None
        label = f"[[{path[0]}]] #{path[1] + 1}" + (f" {name!r}" if isinstance(name, str)
                                                   else "") + ", "
    return ConfigError(f"{source} line {line_of(text, path)}: {label}field {field}: {problem}")
