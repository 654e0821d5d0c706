"""The instrument file: the shipped default or a consultant's own, read and checked at load.

A workspace uses the file named by ``instrument`` in the ``[culture]`` section of its
``outsidein.toml`` (relative to the workspace folder), or else the instrument shipped with
Outside-In (``default_instrument.toml`` beside this module).  A bad file stops the load with a
:class:`~outsidein.errors.ConfigError` naming the file, the line, the item, the field and the
problem, e.g.::

    my_survey.toml line 14: [[items]] #3 'cus3', field scale_max: the scale 1..6 has 6
    points; it must have 5 or 7

The format is documented in :mod:`outsidein.culture.instrument` and ``docs/culture-engine.md``.

>>> inst = load_instrument()
>>> inst.version, len(inst.items), inst.mo_components[0]
('2026.1', 39, 'customer_orientation')
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from outsidein.culture.instrument import Instrument, parse_instrument
from outsidein.errors import ConfigError

__all__ = ["DEFAULT_INSTRUMENT", "default_instrument_text", "instrument_path",
           "load_instrument"]

#: the instrument shipped with Outside-In (used when the workspace names none)
DEFAULT_INSTRUMENT = "default_instrument.toml"


def default_instrument_text() -> str:
    """The text of the shipped instrument file."""
    return files("outsidein.services.culture").joinpath(DEFAULT_INSTRUMENT).read_text("utf-8")


def load_instrument(path: str | Path | None = None) -> Instrument:
    """Read and check the instrument file at *path* (default: the one shipped)."""
    if path is None:
        return parse_instrument(default_instrument_text(), DEFAULT_INSTRUMENT)
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: the survey instrument cannot be read ({exc.strerror}); fix "
                          "[culture] instrument in outsidein.toml or the path given") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: the survey instrument is not UTF-8 text ({exc.reason})") \
            from exc
    return parse_instrument(text, str(p))


def instrument_path(culture_section: Mapping[str, Any] | None, root: Path) -> Path | None:
    """The file ``[culture] instrument`` names (relative to the workspace *root*), or None."""
    name = (culture_section or {}).get("instrument")
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"outsidein.toml [culture] instrument must be a file name, got "
                          f"{name!r}")
    p = Path(name)
    return p if p.is_absolute() else root / p
