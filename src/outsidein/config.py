"""Settings: the workspace's ``outsidein.toml`` and the process's ``OUTSIDEIN_*`` variables.

Layout of ``outsidein.toml``::

    [warehouse]
    backend = "duckdb"            # any Ibis backend name; "pyspark" for Spark
    path = "warehouse.duckdb"     # DuckDB file, relative to the workspace
    # spark_master = "local[2]"   # pyspark only
    # lock_wait = 30              # seconds a writer waits for the DuckDB file (readers, a load)

    [store]
    url = "sqlite:///store.sqlite"   # relative SQLite paths resolve in the workspace

    [analysis]
    time_unit = "weeks"           # "days" or "weeks" for BTYD summaries
    # margin_rate = 0.3           # share of revenue left after the cost of goods, for
                                  # order lines whose product has no unit_cost
    discount_rate = 0.1           # yearly rate that discounts future customer value (CLV)
    # currency = "USD"            # ISO 4217 code of the money amounts (pages show its symbol)

    [mappings.pos]                # a named mapping: outsidein load order_lines f.csv --mapping pos
    date_format = "%d/%m/%Y"      # and delimiter, encoding, header, columns, allow_future, decimal
    [mappings.pos.map]            # target = source column or expression (like --map)
    customer_id = "CustNo"

The environment is read in one place, :meth:`Settings.from_env`, when a
workspace is opened (never when a module is imported), and checked there:
a bad value is one :class:`~outsidein.errors.ConfigError` naming the
variable, what was expected and what was found.  ``OUTSIDEIN_WAREHOUSE_BACKEND``,
``OUTSIDEIN_WAREHOUSE_PATH``, ``OUTSIDEIN_STORE_URL`` and ``OUTSIDEIN_TIME_UNIT``
override the file (:func:`apply_settings`).

>>> settings = Settings.from_env({"OUTSIDEIN_TIME_UNIT": "days"})
>>> apply_settings(Config(), settings).time_unit
'days'
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from outsidein.errors import ConfigError

__all__ = ["CONFIG_FILE", "DEFAULT_DISCOUNT_RATE", "DEFAULT_LOAD_MEMORY_LIMIT",
           "SUPPORTED_TIME_UNITS", "Config", "SavedMapping", "Settings", "apply_settings",
           "check_mapping_name", "read_config", "save_mapping", "saved_mapping",
           "write_config"]

CONFIG_FILE = "outsidein.toml"
SUPPORTED_TIME_UNITS = ("days", "weeks")
#: DuckDB memory cap during a load (beyond it DuckDB spills to disk)
DEFAULT_LOAD_MEMORY_LIMIT = "2GB"
#: yearly discount rate of customer value when ``[analysis] discount_rate`` is not set
DEFAULT_DISCOUNT_RATE = 0.10
PREFIX = "OUTSIDEIN_"

_MEMORY = re.compile(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*", re.IGNORECASE)
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _text(value: str) -> str:
    return value


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _backend(value: str) -> str:
    if not value.isidentifier():
        raise ValueError("expected an Ibis backend name such as duckdb or pyspark")
    return value


def _time_unit(value: str) -> str:
    if value not in SUPPORTED_TIME_UNITS:
        raise ValueError(f"expected one of {', '.join(SUPPORTED_TIME_UNITS)}")
    return value


def _memory(value: str) -> str:
    if not _MEMORY.fullmatch(value):
        raise ValueError("expected a size such as 2GB, 512MB or 1.5GiB")
    return value.strip()


def _flag(value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError("expected 1 or 0 (also true/false, yes/no, on/off)")


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return value


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError("expected a port number like 25 or 587")
    return int(value)


def _threads(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 256:
        raise ValueError("expected a number of threads from 1 to 256, like 8")
    return int(value)


#: field of :class:`Settings` -> how its ``OUTSIDEIN_<FIELD>`` value is parsed and checked
_PARSERS: dict[str, Callable[[str], Any]] = {
    "workspace": _path,
    "warehouse_backend": _backend,
    "warehouse_path": _text,
    "store_url": _text,
    "time_unit": _time_unit,
    "load_memory_limit": _memory,
    "https": _flag,
    "webhook_url": _url,
    "smtp_host": _text,
    "smtp_port": _port,
    "smtp_password": _text,
    "chromium": _text,
    "debug": _flag,
    "web_threads": _threads,
}


@dataclass(frozen=True)
class Settings:
    """Every ``OUTSIDEIN_*`` variable the product reads, parsed and checked.

    ``None`` means the variable is not set (or empty): the workspace's
    ``outsidein.toml`` or the built-in default applies.

    >>> s = Settings.from_env({"OUTSIDEIN_SMTP_PORT": "587", "OUTSIDEIN_DEBUG": "1"})
    >>> s.smtp_port, s.debug, s.load_memory_limit
    (587, True, '2GB')
    >>> Settings.from_env({"OUTSIDEIN_SMTP_PORT": "abc"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outsidein.errors.ConfigError: OUTSIDEIN_SMTP_PORT='abc': expected a port number like 25 ...
    """

    #: ``OUTSIDEIN_WORKSPACE``: the workspace folder when none is given
    workspace: Path | None = None
    warehouse_backend: str | None = None
    warehouse_path: str | None = None
    store_url: str | None = None
    time_unit: str | None = None
    #: ``OUTSIDEIN_LOAD_MEMORY_LIMIT``: DuckDB's memory cap during a load
    load_memory_limit: str = DEFAULT_LOAD_MEMORY_LIMIT
    #: ``OUTSIDEIN_HTTPS=1``: session cookies only over HTTPS (behind TLS)
    https: bool = False
    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_password: str | None = field(default=None, repr=False)
    #: ``OUTSIDEIN_CHROMIUM``: the Chromium used for PDF export
    chromium: str | None = None
    #: ``OUTSIDEIN_DEBUG=1``: tracebacks and debug logging on the command line
    debug: bool = False
    #: ``OUTSIDEIN_WEB_THREADS``: threads for the web app's sync routes, per worker process
    web_threads: int = 8

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check the ``OUTSIDEIN_*`` variables of *environ* (default ``os.environ``).

        Raises
        ------
        ConfigError
            One error listing every variable whose value cannot be used.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, parse in _PARSERS.items():
            var = PREFIX + name.upper()
            raw = env.get(var, "")
            if not raw.strip():
                continue
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                problems.append(f"{var}={raw!r}: {exc}")
        if problems:
            raise ConfigError("; ".join(problems) + "; fix or unset the environment variable"
                              + ("s" if len(problems) > 1 else ""))
        return cls(**values)

    @property
    def workspace_dir(self) -> Path:
        """``OUTSIDEIN_WORKSPACE`` or the current folder, as an absolute path.

        >>> Settings(workspace=Path("/srv/acme")).workspace_dir
        PosixPath('/srv/acme')
        """
        return (self.workspace or Path(".")).expanduser().resolve()


@dataclass(frozen=True)
class Config:
    """Settings of one workspace (frozen; use :func:`dataclasses.replace`).

    >>> Config(time_unit="days").to_toml()["analysis"]
    {'time_unit': 'days', 'discount_rate': 0.1}
    """

    warehouse_backend: str = "duckdb"
    warehouse_path: str = "warehouse.duckdb"
    spark_master: str = "local[2]"
    #: seconds a writer waits for the DuckDB file held by readers or another writer
    warehouse_lock_wait: float = 30.0
    store_url: str = "sqlite:///store.sqlite"
    time_unit: str = "weeks"
    margin_rate: float | None = None
    #: yearly; the value service converts it to the model's time unit
    discount_rate: float = DEFAULT_DISCOUNT_RATE
    #: ISO 4217 code of every money amount (``[analysis] currency``)
    currency: str = "USD"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        """The ``outsidein.toml`` document of this configuration."""
        doc: dict[str, Any] = {
            "warehouse": {"backend": self.warehouse_backend, "path": self.warehouse_path},
            "store": {"url": self.store_url},
            "analysis": {"time_unit": self.time_unit, "discount_rate": self.discount_rate},
        }
        if self.warehouse_backend == "pyspark":
            doc["warehouse"]["spark_master"] = self.spark_master
        if self.warehouse_lock_wait != Config.warehouse_lock_wait:
            doc["warehouse"]["lock_wait"] = self.warehouse_lock_wait
        if self.margin_rate is not None:
            doc["analysis"]["margin_rate"] = self.margin_rate
        if self.currency != "USD":
            doc["analysis"]["currency"] = self.currency
        for section, values in self.extra.items():
            doc.setdefault(section, {}).update(values)
        return doc


def read_config(folder: Path, settings: Settings | None = None) -> Config:
    """Read ``outsidein.toml`` in *folder* and apply the overrides of *settings*.

    *settings* defaults to :meth:`Settings.from_env` (the environment now).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_config(folder, Config(warehouse_backend="pyspark"))
    >>> read_config(folder, Settings()).spark_master
    'local[2]'
    """
    path = folder / CONFIG_FILE
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML ({exc}); fix the file or run 'outsidein init' again"
        ) from exc
    wh = doc.get("warehouse", {})
    st = doc.get("store", {})
    an = doc.get("analysis", {})
    known = {"warehouse", "store", "analysis"}
    cfg = Config(
        warehouse_backend=str(wh.get("backend", "duckdb")),
        warehouse_path=str(wh.get("path", "warehouse.duckdb")),
        spark_master=str(wh.get("spark_master", "local[2]")),
        warehouse_lock_wait=_lock_wait(wh.get("lock_wait", 30.0), path),
        store_url=str(st.get("url", "sqlite:///store.sqlite")),
        time_unit=str(an.get("time_unit", "weeks")),
        margin_rate=_margin_rate(an.get("margin_rate"), path),
        discount_rate=_discount_rate(an.get("discount_rate", DEFAULT_DISCOUNT_RATE), path),
        currency=_currency(an.get("currency", "USD"), path),
        extra={k: v for k, v in doc.items() if k not in known and isinstance(v, dict)},
    )
    return apply_settings(cfg, Settings.from_env() if settings is None else settings)


def _currency(value: Any, path: Path) -> str:
    """``[analysis] currency``: a three-letter ISO 4217 code such as "USD" or "EUR"."""
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()):
        raise ConfigError(f"{path}: [analysis] currency {value!r}: expected a three-letter "
                          "ISO 4217 code like \"USD\" or \"EUR\"")
    return value.upper()


def _margin_rate(value: Any, path: Path) -> float | None:
    """``[analysis] margin_rate``: a number from 0 to 1, or absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"{path}: [analysis] margin_rate {value!r}: expected a number from 0 "
                          "to 1 (the share of revenue left after the cost of goods, e.g. 0.3)")
    return float(value)


def _lock_wait(value: Any, path: Path) -> float:
    """``[warehouse] lock_wait``: seconds, from 0 to one hour."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
        raise ConfigError(f"{path}: [warehouse] lock_wait {value!r}: expected seconds from 0 "
                          "to 3600, e.g. 30")
    return float(value)


def _discount_rate(value: Any, path: Path) -> float:
    """``[analysis] discount_rate``: a yearly rate from 0 to below 1 (0.1 is 10% a year)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ConfigError(f"{path}: [analysis] discount_rate {value!r}: expected a yearly rate "
                          "from 0 to below 1, e.g. 0.1 for 10% a year")
    return float(value)


def apply_settings(cfg: Config, settings: Settings) -> Config:
    """*cfg* with the environment's overrides in *settings* applied, then checked.

    >>> apply_settings(Config(), Settings(store_url="sqlite:///other.sqlite")).store_url
    'sqlite:///other.sqlite'
    >>> apply_settings(Config(time_unit="months"), Settings())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outsidein.errors.ConfigError: time_unit 'months': expected one of days, weeks; ...
    """
    overrides = {name: value for name in
                 ("warehouse_backend", "warehouse_path", "store_url", "time_unit")
                 if (value := getattr(settings, name)) is not None}
    cfg = replace(cfg, **overrides)
    if cfg.time_unit not in SUPPORTED_TIME_UNITS:
        raise ConfigError(
            f"time_unit {cfg.time_unit!r}: expected one of {', '.join(SUPPORTED_TIME_UNITS)}; "
            "set [analysis] time_unit in outsidein.toml"
        )
    return cfg


def write_config(folder: Path, cfg: Config) -> Path:
    """Write *cfg* to ``folder/outsidein.toml`` and return the path."""
    path = folder / CONFIG_FILE
    path.write_text(tomli_w.dumps(cfg.to_toml()), encoding="utf-8")
    return path


# -- named mappings: [mappings.NAME] ---------------------------------------------------------

_MAPPING_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class SavedMapping:
    """A named mapping of ``outsidein.toml`` (``[mappings.NAME]``): how one feed's files load.

    The fields are those of the loader's ``LoadOptions`` (``None``: not set,
    the loader detects or defaults).

    >>> m = SavedMapping.from_toml("pos", {"date_format": "%d/%m/%Y",
    ...                                    "map": {"customer_id": "CustNo"}})
    >>> m.map, m.date_format, m.header
    ({'customer_id': 'CustNo'}, '%d/%m/%Y', None)
    >>> m.to_toml()
    {'date_format': '%d/%m/%Y', 'map': {'customer_id': 'CustNo'}}
    >>> SavedMapping.from_toml("pos", {"dateformat": "%Y"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outsidein.errors.ConfigError: [mappings.pos] dateformat: not a mapping setting; expected ...
    """

    map: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    delimiter: str | None = None
    header: bool | None = None
    columns: tuple[str, ...] | None = None
    encoding: str | None = None
    allow_future: bool | None = None
    decimal: str | None = None

    @classmethod
    def from_toml(cls, name: str, doc: Mapping[str, Any]) -> SavedMapping:
        """Read and check one ``[mappings.NAME]`` table."""
        where = f"[mappings.{name}]"
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{where}: expected a table of settings, got {doc!r}")
        values: dict[str, Any] = {}
        for key, value in doc.items():
            kind = _MAPPING_KEYS.get(key)
            if kind is None:
                raise ConfigError(f"{where} {key}: not a mapping setting; expected one of "
                                  f"{', '.join(_MAPPING_KEYS)}")
            if kind == "map":
                if not isinstance(value, Mapping) or not all(
                        isinstance(v, str) and v.strip() for v in value.values()):
                    raise ConfigError(f"{where} map: expected target = \"source\" entries, "
                                      'e.g. customer_id = "CustNo"')
                values[key] = {str(k): str(v) for k, v in value.items()}
            elif kind == "columns":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(f'{where} columns: expected a list of names, e.g. '
                                      '["customer_id", "date"]')
                values[key] = tuple(value)
            elif not isinstance(value, bool if kind == "bool" else str):
                raise ConfigError(f"{where} {key}: expected "
                                  f"{'true or false' if kind == 'bool' else 'text'}, "
                                  f"got {value!r}")
            else:
                values[key] = value
        return cls(**values)

    def to_toml(self) -> dict[str, Any]:
        """The ``[mappings.NAME]`` table (settings that are set, ``map`` last)."""
        doc: dict[str, Any] = {}
        for key in _MAPPING_KEYS:
            value = getattr(self, key)
            if value is None or key == "map":
                continue
            doc[key] = list(value) if isinstance(value, tuple) else value
        if self.map:
            doc["map"] = dict(self.map)
        return doc


#: setting of ``[mappings.NAME]`` -> its kind
_MAPPING_KEYS = {"date_format": "text", "delimiter": "text", "decimal": "text", "header": "bool",
                 "columns": "columns", "encoding": "text", "allow_future": "bool", "map": "map"}


def saved_mapping(cfg: Config, name: str) -> SavedMapping:
    """The named mapping *name* of the workspace's ``outsidein.toml``.

    >>> cfg = Config(extra={"mappings": {"pos": {"map": {"ts": "Date"}}}})
    >>> saved_mapping(cfg, "pos").map
    {'ts': 'Date'}
    >>> saved_mapping(cfg, "erp")
    Traceback (most recent call last):
    ...
    outsidein.errors.ConfigError: no mapping 'erp' in outsidein.toml; the mappings are: pos
    """
    mappings = cfg.extra.get("mappings") or {}
    if name not in mappings:
        names = ", ".join(sorted(mappings))
        raise ConfigError(
            f"no mapping {name!r} in {CONFIG_FILE}; "
            + (f"the mappings are: {names}" if names else
               "there are none yet: save one with outsidein load ... --save-mapping NAME, "
               "or add a [mappings.NAME] table"))
    return SavedMapping.from_toml(name, mappings[name])


def check_mapping_name(name: str) -> str:
    """*name* if it can name a mapping (letters, digits, ``-``, ``_``), else a ConfigError.

    >>> check_mapping_name("erp-orders")
    'erp-orders'
    >>> check_mapping_name("my pos")
    Traceback (most recent call last):
    ...
    outsidein.errors.ConfigError: mapping name 'my pos': expected letters, digits, '-' or \
'_', e.g. pos or erp-orders
    """
    if not _MAPPING_NAME.fullmatch(name):
        raise ConfigError(f"mapping name {name!r}: expected letters, digits, '-' or '_', "
                          "e.g. pos or erp-orders")
    return name


def save_mapping(folder: Path, name: str, mapping: SavedMapping) -> Path:
    """Save *mapping* as ``[mappings.NAME]`` in ``folder/outsidein.toml`` (replacing one).

    A new name is appended to the file, so its comments stay; replacing a
    mapping rewrites the file from its values.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_config(folder, Config())
    >>> _ = save_mapping(folder, "pos", SavedMapping(map={"ts": "Date"}, delimiter=";"))
    >>> saved_mapping(read_config(folder, Settings()), "pos")
    SavedMapping(map={'ts': 'Date'}, date_format=None, delimiter=';', header=None, \
columns=None, encoding=None, allow_future=None, decimal=None)
    """
    check_mapping_name(name)
    path = folder / CONFIG_FILE
    raw = read_config(folder, Settings())  # the file's own values, not the environment's
    if name in (raw.extra.get("mappings") or {}):
        mappings = {**raw.extra["mappings"], name: mapping.to_toml()}
        return write_config(folder, replace(raw, extra={**raw.extra, "mappings": mappings}))
    text = path.read_text(encoding="utf-8")
    section = tomli_w.dumps({"mappings": {name: mapping.to_toml()}})
    path.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")
    return path
