"""One public surface: ``outsidein.value`` exports its API, each piece with a runnable example."""

from __future__ import annotations

import inspect

import pytest

import outsidein.value as value

PUBLIC = [(name, getattr(value, name, None)) for name in value.__all__]


def test_every_exported_name_exists_once() -> None:
    assert len(set(value.__all__)) == len(value.__all__)
    missing = [name for name, obj in PUBLIC if obj is None]
    assert not missing, f"__all__ names missing from outsidein.value: {missing}"


@pytest.mark.parametrize(("name", "obj"), [
    (name, obj) for name, obj in PUBLIC if inspect.isclass(obj) or inspect.isfunction(obj)
], ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_class_and_function_has_an_example(name, obj) -> None:
    """The examples run as doctests (pytest --doctest-modules over src/outsidein)."""
    assert obj.__module__.startswith("outsidein.value")
    assert ">>>" in (inspect.getdoc(obj) or ""), f"{name} has no example in its docstring"
