"""QA: an action catalogue in YAML (the issue: "TOML or YAML") loads as the TOML one does,
and a mistake in it names the file, the line, the entry, the field and the problem.

Found by a new user: ``[sense] catalogue = "catalogue.yaml"`` was read as TOML, and
``serve`` refused to start with "line 1: not valid TOML: Expected '=' after a key".
"""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from outsidein.errors import ConfigError
from outsidein.services.sense.catalogue import DEFAULT_CATALOGUE, load_catalogue

GOOD = """\
version: 1
actions:
  - name: tips
    need: advice
    channels: [email, web]
    stages: [considering]
    template: "Hi {first_name}, our guide compares the options."
  - name: call_back
    need: service
    audience: agent
    channels: [call_center]
    consent: false
    template: "Call {name} ({customer_id}) back."
timing:
  - name: complaint_follow_up
    on: complaint
    channel: call_center
    action: call_back
    within_hours: 2
"""


def test_a_yaml_catalogue_loads_with_its_timing_rules(tmp_path: Path) -> None:
    p = tmp_path / "catalogue.yaml"
    p.write_text(GOOD, encoding="utf-8")
    cat = load_catalogue(p)
    assert [e.name for e in cat.entries] == ["tips", "call_back"]
    assert cat["tips"].channels == ("email", "web") and not cat["call_back"].consent
    [rule] = cat.timing  # "on:" is a key here, not YAML 1.1's boolean true
    assert (rule.on, rule.action, rule.within_hours) == ("complaint", "call_back", 2.0)


def test_the_shipped_catalogue_written_as_yaml_is_the_same_catalogue(tmp_path: Path) -> None:
    text = files("outsidein.services.sense").joinpath(DEFAULT_CATALOGUE).read_text("utf-8")
    p = tmp_path / "catalogue.yml"
    p.write_text(yaml.safe_dump(tomllib.loads(text), sort_keys=False), encoding="utf-8")
    assert load_catalogue(p) == load_catalogue()


@pytest.mark.parametrize(("text", "says"), [
    (GOOD.replace("channels: [email, web]", "channels: [email, sms]"),
     "catalogue.yaml line 5: actions #1 'tips', field channels: 'sms' is not one of"),
    (GOOD.replace("need: service", "need: servise"),
     "catalogue.yaml line 9: actions #2 'call_back', field need: 'servise' is not one of"),
    (GOOD.replace("{first_name}", "{firstname}"),
     "catalogue.yaml line 7: actions #1 'tips', field template:"),
    (GOOD.replace("    on: complaint\n", "    on: complain\n"),
     "catalogue.yaml line 16: timing #1 'complaint_follow_up', field on:"),
    (GOOD.replace("  - name: tips", "  - name: [tips"),
     "catalogue.yaml line 4: not valid YAML"),
])
def test_a_mistake_names_the_file_line_entry_and_field(tmp_path: Path, text: str,
                                                       says: str) -> None:
    p = tmp_path / "catalogue.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalogue(p)
    assert str(err.value).startswith(f"{tmp_path}/{says}"), str(err.value)
