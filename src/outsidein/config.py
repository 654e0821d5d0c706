"""Workspace configuration: ``outsidein.toml`` plus ``OUTSIDEIN_*`` overrides.

Layout of ``outsidein.toml``::

    [warehouse]
    backend = "duckdb"            # any Ibis backend name; "pyspark" for Spark
    path = "warehouse.duckdb"     # DuckDB file, relative to the workspace
    # spark_master = "local[2]"   # pyspark only

    [store]
    url = "sqlite:///store.sqlite"   # relative SQLite paths resolve in the workspace

    [analysis]
    time_unit = "weeks"           # "days" or "weeks" for BTYD summaries

Environment variables override the file: ``OUTSIDEIN_WAREHOUSE_BACKEND``,
``OUTSIDEIN_WAREHOUSE_PATH``, ``OUTSIDEIN_STORE_URL``,
``OUTSIDEIN_TIME_UNIT``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from outsidein.errors import ConfigError

CONFIG_FILE = "outsidein.toml"
SUPPORTED_TIME_UNITS = ("days", "weeks")


@dataclass(frozen=True)
class Config:
    """Settings of one workspace (frozen; use :func:`dataclasses.replace`)."""

    warehouse_backend: str = "duckdb"
    warehouse_path: str = "warehouse.duckdb"
    spark_master: str = "local[2]"
    store_url: str = "sqlite:///store.sqlite"
    time_unit: str = "weeks"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
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


def read_config(folder: Path) -> Config:
    """Read ``outsidein.toml`` in *folder* and apply environment overrides."""
    path = folder / CONFIG_FILE
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
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
    return apply_env(cfg)


def apply_env(cfg: Config) -> Config:
    """Return *cfg* with ``OUTSIDEIN_*`` environment overrides applied and checked."""
    env = os.environ
    cfg = replace(
        cfg,
        warehouse_backend=env.get("OUTSIDEIN_WAREHOUSE_BACKEND", cfg.warehouse_backend),
        warehouse_path=env.get("OUTSIDEIN_WAREHOUSE_PATH", cfg.warehouse_path),
        store_url=env.get("OUTSIDEIN_STORE_URL", cfg.store_url),
        time_unit=env.get("OUTSIDEIN_TIME_UNIT", cfg.time_unit),
    )
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
