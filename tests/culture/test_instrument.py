"""The instrument file: the shipped one is complete, and a bad file is named precisely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outsidein.culture import COMPONENTS, MO_COMPONENTS, parse_instrument
from outsidein.errors import ConfigError
from outsidein.services.culture.instrument import (
    default_instrument_text,
    instrument_path,
    load_instrument,
)

GOOD = """\
version = "consultant-3"
name = "Acme survey"

[[items]]
id = "a1"
component = "customer_orientation"
text = "We ask customers what they need."

[[items]]
id = "a2"
component = "customer_orientation"
text = "Customers are an afterthought."
reverse = true

[[items]]
id = "a3"
component = "customer_orientation"
text = "We follow up after every sale."
scale_min = 1
scale_max = 7
"""


def test_default_instrument_covers_every_component_with_stable_ids():
    inst = load_instrument()
    assert inst.components == COMPONENTS
    for comp in MO_COMPONENTS:
        assert len(inst.items_for(comp)) >= 3
    perf = {it.id for it in inst.items_for("performance")}
    assert perf == {"perf_sales", "perf_profit", "perf_retention"}
    assert len(set(inst.item_ids)) == len(inst.items)
    assert all(it.points in (5, 7) for it in inst.items)
    assert any(it.reverse for it in inst.items)
    assert inst.comment.endswith("?")


def test_listing_has_the_documented_json_shape():
    d = load_instrument().to_dict()
    json.dumps(d)
    assert d["version"] == "2026.1"
    assert set(d["items"][0]) == {"id", "component", "text", "scale_min", "scale_max",
                                  "reverse"}


def test_default_wording_is_not_a_published_item():
    # a few well-known published MKTOR/MARKOR/Q12 phrasings must not appear verbatim
    text = default_instrument_text().lower()
    for phrase in ("i know what is expected of me at work",
                   "our business objectives are driven primarily by customer satisfaction",
                   "we meet with customers at least once a year to find out what products or "
                   "services they will need in the future",
                   "at work, i have the opportunity to do what i do best every day"):
        assert phrase not in text


def test_consultant_file_loads_with_its_own_scale(tmp_path: Path):
    p = tmp_path / "acme.toml"
    p.write_text(GOOD)
    inst = load_instrument(p)
    assert inst.version == "consultant-3"
    assert (inst["a3"].scale_min, inst["a3"].scale_max) == (1, 7)
    assert inst["a2"].reverse


@pytest.mark.parametrize(("change", "line", "expect"), [
    (('scale_max = 7', 'scale_max = 6'), 20, "[[items]] #3 'a3', field scale_max: the scale "
                                              "1..6 has 6 points"),
    (('id = "a2"', 'id = "a1"'), 10, "[[items]] #2 'a1', field id: 'a1' is used twice"),
    (('component = "customer_orientation"\ntext = "Customers',
      'component = "clients"\ntext = "Customers'), 11, "field component: 'clients' is not"),
    (('reverse = true', 'reverse = "yes"'), 13, "field reverse: must be true or false"),
    (('reverse = true', 'colour = "red"'), 13, "field colour: unknown field"),
    (('text = "We follow up after every sale."\n', ''), 15, "[[items]] #3 'a3', field text: "
                                                            "missing"),
    (('version = "consultant-3"', 'version = ""'), 1, "field version: must be a non-empty"),
])
def test_bad_file_names_file_line_item_field_and_problem(tmp_path, change, line, expect):
    p = tmp_path / "bad.toml"
    p.write_text(GOOD.replace(*change, 1))
    with pytest.raises(ConfigError) as exc:
        load_instrument(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p} line {line}: "), msg
    assert expect in msg


def test_invalid_toml_and_too_few_items_are_explained(tmp_path):
    with pytest.raises(ConfigError, match=r"x\.toml line 2: not valid TOML"):
        parse_instrument('version = "1"\n[[items]\n', "x.toml")
    two = GOOD.split("[[items]]\nid = \"a3\"")[0]
    with pytest.raises(ConfigError, match="'customer_orientation' has 2 item.*at least 3"):
        parse_instrument(two, "two.toml")


def test_missing_file_says_what_to_fix(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot be read.*\[culture\] instrument"):
        load_instrument(tmp_path / "nope.toml")


def test_workspace_setting_is_relative_to_the_workspace(tmp_path):
    assert instrument_path(None, tmp_path) is None
    assert instrument_path({"instrument": "s.toml"}, tmp_path) == tmp_path / "s.toml"
    with pytest.raises(ConfigError):
        instrument_path({"instrument": 3}, tmp_path)
