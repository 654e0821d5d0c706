"""Arrow helpers for the demo generator: ids, categories with nulls, time stamps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded *numbers*, e.g. ``C0000042``."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()),
                          width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def category(names: Sequence[str], codes: np.ndarray) -> pa.Array:
    """Strings from category *codes*; negative codes become null."""
    codes = np.asarray(codes, dtype=np.int32)
    return pa.array(list(names), pa.string()).take(pa.array(codes, mask=codes < 0))


def take(values: pa.Array, index: np.ndarray) -> pa.Array:
    """``values[index]`` with negative indices as null."""
    index = np.asarray(index, dtype=np.int64)
    return values.take(pa.array(index, mask=index < 0))


def timestamps(start_sec: int, seconds: np.ndarray) -> pa.Array:
    """Naive UTC time stamps (microseconds) at *start_sec* + *seconds*."""
    us = (start_sec + np.asarray(seconds, dtype=np.int64)) * 1_000_000
    return pa.array(us, pa.timestamp("us"))


def day_seconds(days: np.ndarray) -> np.ndarray:
    """Fractional days since the data start as whole seconds."""
    return np.floor(np.asarray(days) * 86400.0).astype(np.int64)


def nullable_int(values: np.ndarray) -> pa.Array:
    """int64 with negative values as null."""
    values = np.asarray(values, dtype=np.int64)
    return pa.array(values, pa.int64(), mask=values < 0)
