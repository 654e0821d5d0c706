"""A catalogue with several mistakes names them all at once, each with its file, line, entry
and field, in TOML and in YAML: three mistakes take one round to mend, not three."""

from __future__ import annotations

from pathlib import Path

import pytest

from outsidein.errors import ConfigError
from outsidein.services.sense.catalogue import load_catalogue

TOML = """[[actions]]
name = "a"
need = "gossip"
template = "hi"

[[actions]]
name = "b"
need = "sales"
channels = ["pigeon"]
template = "x"

[[actions]]
name = "c"
need = "advice"
template = "{nope}"

[[timing]]
name = "t"
on = "cart_add"
action = "zzz"
after_hours = 1
"""

YAML = """actions:
  - name: a
    need: gossip
    template: hi
  - name: b
    need: sales
    channels: [pigeon]
    template: x
timing:
  - name: t
    on: cart_add
    action: zzz
    after_hours: 1
"""


def test_every_mistake_of_a_toml_catalogue_is_named_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(TOML)
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    lines = str(err.value).splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith(f"{path} line 3: [[actions]] #1 'a', field need: 'gossip'")
    assert lines[0].endswith("(and 3 more below)")
    assert lines[1].startswith(f"{path} line 9: [[actions]] #2 'b', field channels: 'pigeon'")
    assert lines[2].startswith(f"{path} line 15: [[actions]] #3 'c', field template: unknown "
                               "placeholder {nope}")
    assert lines[3] == f"{path} line 20: [[timing]] #1 't', field action: 'zzz' is not an " \
                       "action of this file"


def test_every_mistake_of_a_yaml_catalogue_is_named_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(YAML)
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    lines = str(err.value).splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"{path} line 3: actions #1 'a', field need")
    assert f"{path} line 7: actions #2 'b', field channels" in lines[1]
    assert lines[2].startswith(f"{path} line 12: timing #1 't', field action: 'zzz'")


def test_a_single_mistake_reads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "one.toml"
    path.write_text('[[actions]]\nname = "a"\nneed = "gossip"\ntemplate = "hi"\n')
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    assert "\n" not in str(err.value) and "more below" not in str(err.value)
