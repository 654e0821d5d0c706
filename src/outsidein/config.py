"""Settings: the workspace's ``outsidein.toml`` and the process's ``OUTSIDEIN_*`` variables.

Layout of ``outsidein.toml``::

    [warehouse]
    backend = "duckdb"            # any Ibis backend name; "pyspark" for Spark
    path = "warehouse.duckdb"     # DuckDB file, relative to the workspace
    # spark_master = "local[2]"   # pyspark only

    [store]
    url = "sqlite:///store.sqlite"   # relative SQLite paths resolve in the workspace

    [analysis]
    time_unit = "weeks"           # "days" or "weeks" for BTYD summaries

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

__all__ = ["CONFIG_FILE", "DEFAULT_LOAD_MEMORY_LIMIT", "SUPPORTED_TIME_UNITS", "Config",
           "Settings", "apply_settings", "read_config", "write_config"]

CONFIG_FILE = "outsidein.toml"
SUPPORTED_TIME_UNITS = ("days", "weeks")
#: DuckDB memory cap during a load (beyond it DuckDB spills to disk)
DEFAULT_LOAD_MEMORY_LIMIT = "2GB"
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
    {'time_unit': 'days'}
    """

    warehouse_backend: str = "duckdb"
    warehouse_path: str = "warehouse.duckdb"
    spark_master: str = "local[2]"
    store_url: str = "sqlite:///store.sqlite"
    time_unit: str = "weeks"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        """The ``outsidein.toml`` document of this configuration."""
        doc: dict[str, Any] = {
            "warehouse": {"backend": self.warehouse_backend, "path": self.warehouse_path},
            "store": {"url": self.store_url},
            "analysis": {"time_unit": self.time_unit},
        }
        if self.warehouse_backend == "pyspark":
            doc["warehouse"]["spark_master"] = self.spark_master
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
        store_url=str(st.get("url", "sqlite:///store.sqlite")),
        time_unit=str(an.get("time_unit", "weeks")),
        extra={k: v for k, v in doc.items() if k not in known and isinstance(v, dict)},
    )
    return apply_settings(cfg, Settings.from_env() if settings is None else settings)


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
