"""Action catalogues written in YAML: the TOML format's tables and fields, as YAML.

A catalogue file whose name ends in ``.yaml`` or ``.yml`` is read as YAML; its document
is what the TOML file gives (``version``, a list ``actions``, a list ``timing``), so one
:func:`~outsidein.sense.catalogue.build_catalogue` checks both, and errors name the file,
the line, the entry, the field and the problem as for TOML::

    catalogue.yaml line 9: actions #2 'sms_offer', field channels: ...

YAML is read by the YAML 1.2 rules for booleans (only ``true`` and ``false``): YAML 1.1,
PyYAML's default, reads the timing rules' key ``on`` (and ``yes``, ``no``, ``off``) as a
boolean, so ``on: complaint`` would lose its key.

>>> doc, line = parse_yaml("actions:\\n  - name: tips\\n    need: advice\\n", "c.yaml")
>>> doc["actions"][0]["need"], line(("actions", 0, "need"))
('advice', 3)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import yaml

from outsidein.errors import ConfigError
from outsidein.sense.catalogue import (
    Catalogue,
    CatalogueProblem,
    build_catalogue,
    every_problem,
)

__all__ = ["YAML_SUFFIXES", "parse_yaml", "parse_yaml_catalogue"]

#: File name endings read as YAML.
YAML_SUFFIXES = (".yaml", ".yml")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


@cache
def _loader() -> type[Any]:
    """PyYAML's safe loader with YAML 1.2 booleans."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
    return Loader


def parse_yaml(text: str, source: str
               ) -> tuple[Any, Callable[[tuple[str | int, ...]], int]]:
    """*text* parsed, and the line of a path into it (``("actions", 2, "template")``: the
    line of the deepest part of the path that is there); a syntax error becomes a
    :class:`ConfigError` naming *source* and the line."""
    loader = _loader()
    try:
        node = yaml.compose(text, Loader=loader)
        doc = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader (SafeLoader's)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}{where}: not valid YAML: {what}") from exc

    def line(path: tuple[str | int, ...]) -> int:
        at, found = node, 1 if node is None else node.start_mark.line + 1
        for part in path:
            nxt = None
            if isinstance(at, yaml.MappingNode):
                for key, value in at.value:
                    if key.value == str(part):
                        nxt, found = value, key.start_mark.line + 1
                        break
            elif isinstance(at, yaml.SequenceNode) and isinstance(part, int) \
                    and part < len(at.value):
                nxt = at.value[part]
                found = nxt.start_mark.line + 1
            if nxt is None:
                break
            at = nxt
        return found

    return doc, line


def parse_yaml_catalogue(text: str, source: str = "catalogue.yaml") -> Catalogue:
    """Check and build the catalogue in YAML *text*; *source* names it in errors."""
    doc, line = parse_yaml(text, source)
    if doc is None:
        doc = {}
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{source} line 1: expected a mapping with 'actions' (a list of "
                          f"messages) and, if any, 'timing'; got {type(doc).__name__}")
    try:
        return build_catalogue(doc)
    except CatalogueProblem as p:
        def say(q: CatalogueProblem) -> str:
            label = ""
            if len(q.path) >= 2 and isinstance(q.path[1], int):
                items = doc.get(str(q.path[0]))
                item = items[q.path[1]] if isinstance(items, list) and q.path[1] < len(items) \
                    else None
                name = item.get("name") if isinstance(item, Mapping) else None
                label = f"{q.path[0]} #{q.path[1] + 1}" + (
                    f" {name!r}" if isinstance(name, str) else "") + ", "
            return f"{source} line {line(q.path)}: {label}field {q.field}: {q.problem}"

        raise ConfigError(every_problem(p, say)) from p
